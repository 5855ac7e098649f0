"""Grammar of the renderer and the phrases it is built from; no models needed."""

from __future__ import annotations

import pytest

from describe.facts import (
    Caption,
    Colour,
    ColourFacts,
    Facts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    TextFacts,
)
from describe.language import count_phrase, join_and, sentence, singular, with_article
from describe.phrases import classic_caption
from describe.profiles import ProfileSet
from describe.render import render
from describe.tags import build_tags


@pytest.fixture(scope="module")
def profiles() -> ProfileSet:
    return ProfileSet.load()


def objects(*counts: tuple[str, int, float]) -> ObjectFacts:
    return ObjectFacts(counts=tuple(ObjectCount(label, n, s) for label, n, s in counts))


def labels(*items: tuple[str, float, str]) -> LabelFacts:
    return LabelFacts(labels=tuple(Label(name, s, cat) for name, s, cat in items))


def test_articles_plurals_counts_and_lists() -> None:
    assert with_article("umbrella") == "an umbrella"
    assert with_article("cup") == "a cup"
    assert count_phrase("person", 2) == "two people"
    assert count_phrase("mouse", 3) == "three mice"
    assert count_phrase("car", 14) == "14 cars"
    assert join_and(["a cup", "a bowl", "a table"]) == "a cup, a bowl and a table"
    assert join_and(["a cup", "a bowl"]) == "a cup and a bowl"
    assert join_and([]) == ""
    assert sentence("  an image of a cat ") == "An image of a cat."


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("dining tables", "dining table"),
        ("people", "person"),
        ("bus", "bus"),
        ("glass", "glass"),
        ("jeans", "jeans"),
        ("skis", "ski"),
        ("boxes", "box"),
        ("cat", "cat"),
    ],
)
def test_singular(word: str, expected: str) -> None:
    assert singular(word) == expected


def test_classic_caption_names_objects_and_refines_with_a_label() -> None:
    cat = classic_caption(objects(("cat", 1, 0.9)), labels(("tabby", 0.6, "animal")), False, 0.3)
    assert cat == "An image of a cat, most likely a tabby."
    coffee = classic_caption(
        objects(("cup", 1, 0.9), ("bowl", 1, 0.8), ("dining table", 1, 0.7)),
        labels(("espresso", 0.5, "drink"), ("cup", 0.4, "container")),
        False,
        0.3,
    )
    assert coffee == "An image of a cup, a bowl and a dining table, with what looks like an espresso."


def test_classic_caption_states_nothing_below_threshold() -> None:
    assert classic_caption(None, labels(("tabby", 0.2, "animal")), False, 0.3) == "An image."
    assert classic_caption(None, None, True, 0.3) == "An image with text."
    assert classic_caption(None, labels(("volcano", 0.2, "landscape")), False, 0.3) == "An image."


def test_a_scene_label_is_not_repeated_as_the_setting(profiles: ProfileSet) -> None:
    volcano = labels(("volcano", 0.9, "landscape"))
    caption = classic_caption(None, volcano, False, 0.3)
    assert caption == "An image of a landscape, possibly a volcano."
    facts = Facts(width=1, height=1, labels=volcano, caption=Caption(caption, "classic"))
    assert render(facts, profiles.get("default"), []) == caption


def test_a_label_that_repeats_an_object_is_not_mentioned_twice() -> None:
    same = classic_caption(objects(("cup", 1, 0.9)), labels(("cup", 0.8, "container")), False, 0.3)
    assert same == "An image of a cup."
    # a synonym of a minor object says nothing new either
    minor = classic_caption(
        objects(("person", 1, 0.9), ("cup", 1, 0.8)), labels(("coffee mug", 0.8, "container")), False, 0.3
    )
    assert minor == "An image of a person and a cup."
    refined = classic_caption(objects(("cup", 1, 0.9)), labels(("coffee mug", 0.8, "container")), False, 0.3)
    assert refined == "An image of a cup, most likely a coffee mug."


def full_facts() -> Facts:
    return Facts(
        width=640,
        height=480,
        objects=objects(("person", 2, 0.9)),
        labels=labels(("seashore", 0.6, "landscape")),
        text=TextFacts(text="SUMMER\nSALE"),
        colours=ColourFacts(
            palette=(Colour("sky blue", "blue", "#80c0ff", 0.5), Colour("sand", "beige", "#e0d0a0", 0.3))
        ),
        caption=Caption("An image of two people.", "classic"),
    )


def test_default_profile_paragraph(profiles: ProfileSet) -> None:
    facts = full_facts()
    profile = profiles.get("default")
    text = render(facts, profile, build_tags(facts, profile.tags))
    assert text == (
        "An image of two people. The setting looks like a seashore. "
        "The main colours are sky blue and sand. Visible text reads “SUMMER SALE”."
    )


def test_one_colour_is_singular_and_grayscale_wins(profiles: ProfileSet) -> None:
    one = Facts(width=1, height=1, colours=ColourFacts(palette=(Colour("red", "red", "#ff0000", 1.0),)))
    assert render(one, profiles.get("default"), []) == "The main colour is red."
    gray = Facts(width=1, height=1, colours=ColourFacts(grayscale=True))
    assert render(gray, profiles.get("default"), []) == "It is a black-and-white image."


def test_alt_profile_is_short(profiles: ProfileSet) -> None:
    long_caption = "An image of " + ", ".join(["a cup"] * 40) + "."
    facts = Facts(width=1, height=1, caption=Caption(long_caption, "classic"))
    text = render(facts, profiles.get("alt"), [])
    assert len(text) <= 125
    assert text.endswith("…")


def test_tags_are_normalised_deduplicated_and_sourced(profiles: ProfileSet) -> None:
    facts = Facts(
        width=1,
        height=1,
        objects=objects(("dining table", 1, 0.8), ("cat", 2, 0.9), ("person", 1, 0.1)),
        labels=labels(("tabby", 0.7, "animal"), ("Dining Tables", 0.5, "furniture")),
        colours=ColourFacts(palette=(Colour("navy", "blue", "#000080", 0.6),)),
    )
    tags = build_tags(facts, profiles.get("default").tags)
    names = [t.name for t in tags]
    assert names[:2] == ["table", "cat"]
    assert "person" not in names  # below the profile's min_score
    assert len(names) == len(set(names))
    assert {t.name: t.source for t in tags}["blue"] == "colours"
    assert {"animal", "furniture"} <= set(names)
    assert all(n == n.lower() for n in names)


def test_agreeing_weak_labels_name_their_category() -> None:
    weak = labels(("palace", 0.18, "building"), ("church", 0.17, "building"), ("daisy", 0.08, "plant"))
    assert classic_caption(None, weak, False, 0.3) == "An image of a building, possibly a palace."
    # one weak label alone is not enough
    assert classic_caption(None, labels(("palace", 0.18, "building")), False, 0.3) == "An image."


def test_detailed_profile_composition_sentence(profiles: ProfileSet) -> None:
    from describe.facts import CompositionFacts

    comp = CompositionFacts(
        orientation="square",
        aspect_ratio=1.0,
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        sharpness=900.0,
        blurry=False,
        lighting="dim",
        subject_position="top",
        shot="close-up",
    )
    facts = Facts(width=1, height=1, composition=comp)
    assert render(facts, profiles.get("detailed"), []) == (
        "A square close-up shot with the main subject at the top, dimly lit and in focus."
    )
