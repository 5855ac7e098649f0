"""Tags for the index: crop labels, WordNet ancestors, setting words and scene cues,
each with its source and score."""

from __future__ import annotations

import pytest

from describe.facts import (
    Caption,
    Colour,
    ColourFacts,
    CompositionFacts,
    Facts,
    Label,
    LabelFacts,
)
from describe.knowledge.vocabulary import setting_words
from describe.render.profiles import TagRules
from describe.render.tags import build_tags

RULES = TagRules()


def composition(**changes: object) -> CompositionFacts:
    fields: dict[str, object] = {
        "orientation": "landscape",
        "aspect_ratio": 1.5,
        "brightness": 0.5,
        "contrast": 0.3,
        "saturation": 0.4,
        "sharpness": 200.0,
        "blurry": False,
        "lighting": "balanced",
    }
    return CompositionFacts(**(fields | changes))  # type: ignore[arg-type]


def tags(facts: Facts) -> dict[str, tuple[str, float]]:
    return {t.name: (t.source, t.score) for t in build_tags(facts, RULES)}


def test_a_label_found_only_in_a_crop_is_tagged_with_its_crop_score() -> None:
    bird = Label("bee eater", 0.05, "animal", region_score=0.6, hypernyms=("bird", "animal"))
    found = tags(Facts(width=10, height=10, labels=LabelFacts((bird,))))
    assert found["bee eater"] == ("labels", 0.6)
    assert found["bird"] == ("hypernyms", 0.6)  # the nearest ancestors
    assert "missile" not in found
    weak = Label("missile", 0.05, "object", region_score=0.1, hypernyms=("weapon",))
    assert tags(Facts(width=10, height=10, labels=LabelFacts((weak,)))) == {}  # below min_score


def test_setting_words_come_from_likely_scene_labels() -> None:
    assert setting_words("lakeside") == ("lake", "water", "shore")
    assert setting_words("tabby") == ()
    shore = Label("lakeside", 0.5, "landscape", hypernyms=("shore",))
    found = tags(Facts(width=10, height=10, labels=LabelFacts((shore,))))
    assert found["water"] == ("scene", 0.5) and found["lake"] == ("scene", 0.5)


def test_sky_night_and_backdrop_from_the_pixels() -> None:
    sky = ColourFacts(palette=(Colour("sky blue", "blue", "#88aaff", 0.5),), bands=("blue", "green", "green"))
    assert tags(Facts(width=10, height=10, colours=sky))["sky"][0] == "scene"
    night = ColourFacts(palette=(Colour("black", "black", "#000000", 0.9),), bright_points=True)
    assert "night" in tags(
        Facts(width=10, height=10, colours=night, composition=composition(lighting="dark"))
    )
    white = ColourFacts(palette=(Colour("white", "white", "#ffffff", 0.8),))
    product = Facts(width=10, height=10, colours=white, composition=composition(plain_background=True))
    assert "white background" in tags(product)
    banner = Facts(
        width=10, height=10, colours=white, composition=composition(plain_background=True, text_heavy=True)
    )
    assert "white background" not in tags(banner)  # a plain banner is not a backdrop
    gray = ColourFacts(palette=(Colour("gray", "gray", "#808080", 0.8),), grayscale=True)
    texture = Facts(width=10, height=10, colours=gray, composition=composition(plain_background=True))
    assert not any(name.endswith("background") for name in tags(texture))


def test_a_hedged_caption_subject_is_a_tag_with_its_label_score() -> None:
    missile = Label("missile", 0.12, "object")
    facts = Facts(
        width=10,
        height=10,
        labels=LabelFacts((missile,)),
        caption=Caption("An image of what looks like a missile.", "classic", objects=("missile",)),
    )
    assert tags(facts)["missile"] == ("caption", 0.12)


def test_sources_can_be_switched_off() -> None:
    shore = Label("lakeside", 0.5, "landscape", hypernyms=("shore",))
    facts = Facts(width=10, height=10, labels=LabelFacts((shore,)))
    only_labels = build_tags(facts, TagRules(sources=("labels",)))
    assert [t.name for t in only_labels] == ["lakeside"]


def test_telling_things_say_where_a_picture_was_taken() -> None:
    from describe.facts import DetectedObject, ObjectCount, ObjectFacts

    oven = ObjectFacts(
        objects=(DetectedObject("oven", 0.9, (0.1, 0.1, 0.5, 0.5)),), counts=(ObjectCount("oven", 1, 0.9),)
    )
    assert tags(Facts(width=10, height=10, objects=oven))["kitchen"] == ("scene", 0.9)
    shark = Label("hammerhead", 0.8, "animal")
    assert tags(Facts(width=10, height=10, labels=LabelFacts((shark,))))["underwater"] == ("scene", 0.8)
    weak = ObjectFacts(
        objects=(DetectedObject("oven", 0.2, (0.1, 0.1, 0.5, 0.5)),), counts=(ObjectCount("oven", 1, 0.2),)
    )
    assert "kitchen" not in tags(Facts(width=10, height=10, objects=weak))  # below min_score


def test_vague_categories_and_signs_seen_on_posters_say_nothing_about_the_place() -> None:
    from describe.facts import DetectedObject, ObjectCount, ObjectFacts

    def seen(label: str) -> dict[str, tuple[str, float]]:
        box = DetectedObject(label, 0.8, (0.1, 0.1, 0.5, 0.5))
        return tags(Facts(width=10, height=10, objects=ObjectFacts((box,), (ObjectCount(label, 1, 0.8),))))

    assert seen("fire hydrant")["street"] == ("category", 0.8)
    assert "street" not in seen("stop sign") and "street" not in seen("traffic light")
    assert "household" not in seen("clock") and "clock" in seen("clock")
    dam = Label("dam", 0.8, "structure")
    assert "structure" not in tags(Facts(width=10, height=10, labels=LabelFacts((dam,))))


def test_three_of_a_kind_are_a_herd_a_flock_or_a_group() -> None:
    from describe.facts import DetectedObject, ObjectCount, ObjectFacts

    def seen(label: str, n: int) -> dict[str, tuple[str, float]]:
        boxes = tuple(DetectedObject(label, 0.8, (0.1 * i, 0.1, 0.1 * i + 0.1, 0.3)) for i in range(n))
        return tags(Facts(width=10, height=10, objects=ObjectFacts(boxes, (ObjectCount(label, n, 0.8),))))

    assert seen("cow", 3)["herd"] == ("objects", 0.8)
    assert "flock" in seen("bird", 4) and "herd" not in seen("bird", 4)
    assert "group" in seen("person", 3)
    assert not {"herd", "group"} & (set(seen("cow", 2)) | set(seen("person", 2)))
    assert not {"herd", "flock", "group"} & set(seen("car", 5))


def test_sky_grass_and_trees_from_where_colour_and_texture_lie() -> None:
    from describe.facts import RegionShares

    def found(shares: RegionShares, **comp: object) -> dict[str, tuple[str, float]]:
        colours = ColourFacts(palette=(Colour("green", "green", "#00aa00", 0.5),), regions=shares)
        return tags(Facts(width=10, height=10, colours=colours, composition=composition(**comp)))

    assert {"sky", "grass"} <= set(found(RegionShares(sky=0.6, green_below=0.7)))
    assert "tree" in found(RegionShares(green_above=0.5, green_below=0.5))
    assert "grass" not in found(RegionShares(green_above=0.5, green_below=0.6))  # a hedge, not a lawn
    assert not {"sky", "grass", "tree"} & set(found(RegionShares(sky=0.3, green_below=0.4)))
    # a blue and green banner is graphics, not a landscape
    banner = found(RegionShares(sky=0.9, green_below=0.9, green_above=0.4), text_heavy=True)
    assert not {"sky", "grass", "tree"} & set(banner)


def test_an_unsure_scene_label_still_says_where_but_is_not_a_tag_itself() -> None:
    pier = Label("pier", 0.2, "structure")
    found = tags(Facts(width=10, height=10, labels=LabelFacts((pier,))))
    assert found["water"] == ("scene", 0.2) and "pier" not in found
    assert tags(Facts(width=10, height=10, labels=LabelFacts((Label("pier", 0.1, "structure"),)))) == {}


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("Paris", "paris"),
        ("Christmas", "christmas"),
        ("Adidas", "adidas"),
        ("Las Vegas", "las vegas"),
        ("campaign-2026", "campaign-2026"),
        ("Dogs", "dog"),
        ("bananas", "banana"),
        ("Dining Tables", "table"),
    ],
)
def test_a_tag_is_singular_only_when_the_singular_is_a_word_the_describer_knows(raw: str, tag: str) -> None:
    """People's and files' own tags are names as often as nouns: inflect made "Paris"
    "pari" and "Christmas" "christma" in tags, exports and sidecars."""
    from describe.knowledge.vocabulary import normalise_tag

    assert normalise_tag(raw) == tag
