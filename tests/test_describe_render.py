"""Grammar of the renderer and the phrases it is built from; no models needed."""

from __future__ import annotations

import numpy as np
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
    TextLine,
)
from describe.intake import load_image
from describe.knowledge.language import count_phrase, join_and, sentence, singular, with_article
from describe.render.paragraph import render
from describe.render.phrases import caption_parts, classic_caption, render_caption
from describe.render.profiles import ProfileSet
from describe.render.tags import build_tags
from tests.conftest import encode


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


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        # at or above the threshold: asserted, with what it is a kind of when known
        ((("llama", 0.5, "animal", ("camelid", "animal")),), "An image of a llama, a kind of camelid."),
        # 0.1 up to the threshold: hedged, with a close runner-up
        ((("missile", 0.2, "vehicle", ()),), "An image of what looks like a missile."),
        (
            (("lakeside", 0.15, "landscape", ()), ("seashore", 0.12, "landscape", ())),
            "An image of what looks like a lakeside or a seashore.",
        ),
        # below 0.1: only "it may show", never "an image of"
        (
            (("lakeside", 0.08, "landscape", ()), ("seashore", 0.06, "landscape", ())),
            "It may show a lakeside or a seashore.",
        ),
        # a runner-up far behind is not named
        ((("lakeside", 0.08, "landscape", ()), ("dam", 0.03, "object", ())), "It may show a lakeside."),
        # below 0.03 a label is noise: nothing from the classifier at all
        ((("lakeside", 0.02, "landscape", ()),), "An image with no clear subject."),
    ],
)
def test_hedge_levels_follow_the_whole_image_score(
    found: tuple[tuple[str, float, str, tuple[str, ...]], ...], expected: str
) -> None:
    facts = LabelFacts(labels=tuple(Label(n, s, c, hypernyms=h) for n, s, c, h in found))
    assert classic_caption(None, facts, False, 0.3) == expected


def test_a_crop_score_is_never_asserted() -> None:
    facts = LabelFacts(labels=(Label("tabby", 0.05, "animal", region_score=0.9),))
    assert classic_caption(None, facts, False, 0.3) == "It may show a tabby."


def test_text_alone_reads_as_a_sign() -> None:
    assert classic_caption(None, None, True, 0.3) == "An image with text."
    parts = caption_parts(None, None, TextFacts(text="SUMMER\nSALE", coverage=0.2), 0.3)
    assert render_caption(parts) == "A sign that reads “SUMMER SALE”."
    assert parts.nouns() == ("sign",)  # so a tag filter finds it
    long = "Happy Hour Mon - Fri 5 - 7 pm Draft beer 4.00 House wine 5.50 Nachos 6.00"
    lines = (TextLine("Happy Hour", 0.9, (0, 0, 1, 0.2)), TextLine(long[11:], 0.9, (0, 0.3, 1, 1)))
    parts = caption_parts(None, None, TextFacts(lines=lines, text=long, coverage=0.4), 0.3)
    assert render_caption(parts) == "A sign headed “Happy Hour”."


def test_a_sign_is_headed_by_its_first_lines_until_they_say_something() -> None:
    said = ("WE'RE", "HIRING", "Baristas & kitchen staff", "Full & part time", "Apply inside")
    lines = tuple(TextLine(t, 0.9, (0, i / 5, 1, (i + 1) / 5)) for i, t in enumerate(said))
    text = TextFacts(lines=lines, text="\n".join(said), coverage=0.4)
    assert render_caption(caption_parts(None, None, text, 0.3)) == "A sign headed “WE'RE HIRING”."


def test_a_mostly_text_image_is_a_sign_even_when_a_printed_matter_label_is_sure() -> None:
    from describe.facts import CompositionFacts

    def composition(text_heavy: bool) -> CompositionFacts:
        return CompositionFacts(
            orientation="landscape", aspect_ratio=2.0, brightness=0.3, contrast=0.5, saturation=0.5,
            sharpness=900.0, blurry=False, lighting="dim", text_heavy=text_heavy,
        )  # fmt: skip

    text = TextFacts(text="WINTER CLEARANCE", coverage=0.3)
    web = labels(("web site", 0.8, "object"))
    assert render_caption(caption_parts(None, web, text, 0.3, None, composition(True))) == (
        "A banner that reads “WINTER CLEARANCE”."
    )
    # a photo with some text in it, or a sure label of a real thing, keeps its label
    assert caption_parts(None, web, text, 0.3, None, composition(False)).lead == "label"
    cat = labels(("tabby", 0.8, "animal"))
    assert caption_parts(None, cat, text, 0.3, None, composition(True)).lead == "label"


def test_scene_cues_give_a_subject_when_no_model_names_one() -> None:
    sky = ColourFacts(bands=("blue", "", "green"))
    assert render_caption(caption_parts(None, None, None, 0.3, sky)) == "A wide scene with sky above."
    leaves = ColourFacts(palette=(Colour("sage green", "green", "#80a080", 0.6),), texture=0.15)
    weak = labels(("lakeside", 0.05, "landscape"))
    assert (
        render_caption(caption_parts(None, weak, None, 0.3, leaves))
        == "An image of something green and finely textured; it may show a lakeside."
    )
    stars = ColourFacts(bright_points=True, bands=("black", "black", "black"))
    assert (
        render_caption(caption_parts(None, None, None, 0.3, stars))
        == "A dark image with small bright points."
    )


def test_hedged_subjects_become_caption_objects_for_the_tags(profiles: ProfileSet) -> None:
    from describe.analyzers.caption import ClassicCaptioner

    weak = labels(("lakeside", 0.08, "landscape"), ("seashore", 0.06, "landscape"))
    caption = ClassicCaptioner().analyze(
        load_image(encode(np.zeros((8, 8, 3), np.uint8))), Facts(width=8, height=8, labels=weak)
    )
    assert caption.objects == ("lakeside", "seashore")
    facts = Facts(width=1, height=1, labels=weak, caption=caption)
    assert {"lakeside", "seashore"} <= {t.name for t in build_tags(facts, profiles.get("default").tags)}


def test_a_scene_label_is_not_repeated_as_the_setting(profiles: ProfileSet) -> None:
    volcano = labels(("volcano", 0.9, "landscape"))
    caption = classic_caption(None, volcano, False, 0.3)
    assert caption == "An image of a volcano."
    facts = Facts(width=1, height=1, labels=volcano, caption=Caption(caption, "classic"))
    assert render(facts, profiles.get("default"), []) == caption


def test_a_label_that_repeats_an_object_is_not_mentioned_twice() -> None:
    same = classic_caption(objects(("cup", 1, 0.9)), labels(("cup", 0.8, "container")), False, 0.3)
    assert same == "An image of a cup."
    # a label refining a minor object sits next to that object, not the main one
    minor = classic_caption(
        objects(("person", 1, 0.9), ("cup", 1, 0.8)), labels(("coffee mug", 0.8, "container")), False, 0.3
    )
    assert minor == "An image of a person and a cup, most likely a coffee mug."
    first = classic_caption(
        objects(("cup", 1, 0.9), ("person", 1, 0.8)), labels(("coffee mug", 0.8, "container")), False, 0.3
    )
    assert first == "An image of a cup (most likely a coffee mug) and a person."
    # with WordNet ancestors, a label refines only what it is a kind of
    bee = LabelFacts(labels=(Label("bee", 0.6, "animal", hypernyms=("insect", "animal")),))
    assert classic_caption(objects(("bird", 1, 0.9)), bee, False, 0.3) == (
        "An image of a bird, with what looks like a bee, a kind of insect."
    )
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
    # one weak label alone is not enough: it is only "what looks like"
    alone = classic_caption(None, labels(("palace", 0.18, "building")), False, 0.3)
    assert alone == "An image of what looks like a palace."
    # a shared WordNet ancestor is more precise than the category
    flowers = LabelFacts(
        labels=(
            Label("daisy", 0.2, "plant", hypernyms=("flower", "plant")),
            Label("zinnia", 0.15, "plant", hypernyms=("flower", "plant")),
        )
    )
    assert classic_caption(None, flowers, False, 0.3) == "An image of a flower, possibly a daisy."


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


def test_hedged_alternatives_never_repeat_an_asserted_noun(profiles: ProfileSet) -> None:
    def alternatives_of(found: ObjectFacts | None, candidates: LabelFacts) -> tuple[str, str]:
        parts = caption_parts(found, candidates, None, 0.3)
        facts = Facts(
            width=1,
            height=1,
            objects=found,
            labels=candidates,
            caption=Caption(render_caption(parts), "classic"),
        )
        text = render(facts, profiles.get("default"), [])
        hedge = next(
            (s for s in text.split(". ") if s.startswith(("It may also show", "It could also be"))), ""
        )
        return text, hedge

    # the kind the caption names (bee: an insect) and the detected object are not guessed again
    bee = LabelFacts(
        labels=(
            Label("bee", 0.6, "animal", hypernyms=("insect", "animal")),
            Label("insect", 0.25, "animal"),
            Label("bird", 0.2, "animal"),
            Label("daisy", 0.15, "plant", hypernyms=("flower", "plant")),
        )
    )
    text, hedge = alternatives_of(objects(("bird", 1, 0.9)), bee)
    assert text.startswith("An image of a bird, with what looks like a bee, a kind of insect.")
    assert hedge == "It may also show a daisy."
    # an asserted label and what it is a kind of
    llama = LabelFacts(
        labels=(
            Label("llama", 0.5, "animal", hypernyms=("camelid", "mammal")),
            Label("camelid", 0.2, "animal"),
            Label("llama", 0.12, "animal"),
            Label("Arabian camel", 0.11, "animal", hypernyms=("camel", "mammal")),
        )
    )
    text, hedge = alternatives_of(None, llama)
    assert text.startswith("An image of a llama, a kind of camelid.")
    assert hedge == "It could also be an Arabian camel."


def test_a_kind_that_repeats_the_object_is_not_said() -> None:
    tabby = LabelFacts(labels=(Label("tabby", 0.7, "animal", hypernyms=("cat", "animal")),))
    assert (
        classic_caption(objects(("cat", 1, 0.9)), tabby, False, 0.3)
        == "An image of a cat, most likely a tabby."
    )
    shepherd = LabelFacts(labels=(Label("German shepherd", 0.8, "animal", hypernyms=("sheepdog", "dog")),))
    assert classic_caption(objects(("dog", 1, 0.9)), shepherd, False, 0.3) == (
        "An image of a dog, most likely a German shepherd, a kind of sheepdog."
    )
    # inside the list, the refinement stays a short aside
    assert classic_caption(objects(("dog", 1, 0.9), ("person", 1, 0.8)), shepherd, False, 0.3) == (
        "An image of a dog (most likely a German shepherd) and a person."
    )


def test_mass_nouns_take_no_article() -> None:
    from describe.knowledge.language import with_article

    assert with_article("hay") == "hay" and with_article("dough") == "dough"
    assert with_article("umbrella") == "an umbrella" and with_article("espresso") == "an espresso"
