"""Tags for the index: crop labels, WordNet ancestors, setting words and scene cues,
each with its source and score."""

from __future__ import annotations

from describe.facts import (
    Caption,
    Colour,
    ColourFacts,
    CompositionFacts,
    Facts,
    Label,
    LabelFacts,
)
from describe.profiles import TagRules
from describe.tags import build_tags
from describe.vocabulary import setting_words

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
