"""Framing, colour layout, tone and the word cap of the default paragraph, from
constructed facts; no models needed."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from describe.facts import (
    Caption,
    Colour,
    ColourFacts,
    CompositionFacts,
    DetectedObject,
    Facts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    TextFacts,
)
from describe.render.look import framing, layout, tone
from describe.render.paragraph import render
from describe.render.phrases import caption_parts, render_caption
from describe.render.profiles import ProfileSet
from describe.render.scene import ObjectEntry
from describe.render.templates import fit


def shot(**changes: object) -> CompositionFacts:
    base = CompositionFacts(
        orientation="landscape",
        aspect_ratio=1.5,
        brightness=0.5,
        contrast=0.4,
        saturation=0.35,
        sharpness=900.0,
        blurry=False,
        lighting="balanced",
        shot="wide",  # what the analyzer says of any landscape frame with no detections
    )
    return msgspec.structs.replace(base, **changes)


def paragraph(profiles: ProfileSet, profile: str = "default", **facts: object) -> str:
    parts = caption_parts(
        facts.get("objects"),  # type: ignore[arg-type]
        facts.get("labels"),  # type: ignore[arg-type]
        facts.get("text"),  # type: ignore[arg-type]
        0.3,
        facts.get("colours"),  # type: ignore[arg-type]
        facts.get("composition"),  # type: ignore[arg-type]
    )
    full = Facts(width=640, height=480, caption=Caption(render_caption(parts), "classic"), **facts)  # type: ignore[arg-type]
    return render(full, profiles.get(profile), [])


def test_a_photo_with_no_detections_still_gets_a_framing_sentence(profiles: ProfileSet) -> None:
    castle = LabelFacts(labels=(Label("castle", 0.9, "building", hypernyms=("fortification",)),))
    text = paragraph(profiles, labels=castle, composition=shot(lighting="dim", blurry=True))
    assert text == (
        "An image of a castle, a kind of fortification. "
        "The picture is horizontal, dimly lit and slightly blurred."
    )
    # "wide" without a detection only means a landscape frame: it is not said
    assert "wide" not in text


def test_the_shot_is_said_when_something_was_detected() -> None:
    small = [ObjectEntry("dog", 1, 0.9, position="left", size="small")]
    found = framing(shot(shot="close-up", contrast=0.7), None, small)
    assert found is not None and (found.shot, found.contrast) == ("close-up", "high")
    # a thing filling the frame already says how near it is
    filling = [ObjectEntry("dog", 1, 0.9, position="centre", size="fills")]
    assert framing(shot(shot="close-up"), None, filling).shot == ""  # type: ignore[union-attr]
    assert framing(shot(shot="medium"), None, filling).shot == ""  # type: ignore[union-attr]
    assert framing(shot(shot="medium"), None, small).shot == "medium"  # type: ignore[union-attr]
    assert framing(None, None, small) is None


def test_a_plain_backdrop_reads_as_a_product_shot_only_when_it_is_one(profiles: ProfileSet) -> None:
    white = ColourFacts(palette=(Colour("white", "white", "#ffffff", 0.8),), bands=("white", "", "white"))
    product = shot(plain_background=True, lighting="bright", orientation="square")
    assert (
        "The picture is square, brightly lit and in focus, on a plain white background as in a product shot."
        in (paragraph(profiles, colours=white, composition=product))
    )
    banner = framing(msgspec.structs.replace(product, text_heavy=True), white, [])
    night = ColourFacts(bands=("black", "black", "black"))
    dark = framing(shot(plain_background=True, lighting="dark"), night, [])
    green = framing(shot(plain_background=True), ColourFacts(bands=("green", "", "green")), [])
    assert banner and dark and green
    assert not banner.product and not dark.product and not green.product
    assert (dark.background, dark.background_colour) == ("plain", "black")


@pytest.mark.parametrize(
    ("bands", "texture", "sentence"),
    [
        (("blue", "", "green"), 0.05, "Sky fills the top of the frame, and the bottom is mostly green."),
        (
            ("green", "green", "green"),
            0.15,
            "The whole frame is mostly green, from top to bottom. Fine detail runs throughout.",
        ),
        (("gray", "", "brown"), 0.05, "The top of the frame is mostly gray and the bottom mostly brown."),
        (("gray", "", "gray"), 0.05, "The top and bottom of the frame are mostly gray."),
        (
            ("", "", "black"),
            0.02,
            "The bottom of the frame is mostly dark. Surfaces look smooth, with little fine detail.",
        ),
    ],
)
def test_the_colour_bands_give_the_layout(
    profiles: ProfileSet, bands: tuple[str, ...], texture: float, sentence: str
) -> None:
    cat = LabelFacts(labels=(Label("tabby", 0.8, "animal"),))
    colours = ColourFacts(bands=bands, texture=texture)
    text = paragraph(profiles, labels=cat, colours=colours, composition=shot())
    assert text == f"An image of a tabby. The picture is horizontal, evenly lit and in focus. {sentence}"


def test_no_layout_where_the_bands_say_nothing_new(profiles: ProfileSet) -> None:
    assert layout(ColourFacts(bands=("gray", "gray", "gray"), grayscale=True), shot()).kind == ""
    # a plain backdrop is named by the framing; a dark one too
    assert layout(ColourFacts(bands=("white", "", "white")), shot(plain_background=True)).kind == ""
    dark = framing(shot(lighting="dim"), ColourFacts(bands=("black", "", "black")), [])
    assert dark and dark.background == "dark"
    # a caption that already says "sky above" is not followed by the same sky
    text = paragraph(profiles, colours=ColourFacts(bands=("blue", "", "green")), composition=shot())
    assert text.startswith("A wide scene with sky above.")
    assert text.count("sky") == 1 and "The bottom of the frame is mostly green." in text


def test_tone_from_saturation() -> None:
    red = ColourFacts(palette=(Colour("red", "red", "#ff0000", 0.5),))
    gray = ColourFacts(palette=(Colour("gray", "gray", "#808080", 0.5),))
    white = ColourFacts(palette=(Colour("white", "white", "#ffffff", 0.8),))
    assert tone(red, shot(saturation=0.7)) == "vivid"
    assert tone(gray, shot(saturation=0.1)) == "muted"
    assert tone(red, shot(saturation=0.35)) == ""
    # in the dark the hue of black pixels is noise; on white any product would look muted
    assert tone(red, shot(saturation=0.7, brightness=0.1)) == ""
    assert tone(white, shot(saturation=0.1)) == ""
    assert tone(gray, shot(saturation=0.1, plain_background=True)) == ""


def test_fit_drops_the_least_important_sentences_first() -> None:
    sentences = [(1, "One two three."), (3, "Four five."), (2, "Six seven eight.")]
    assert fit(sentences, 8) == "One two three. Four five. Six seven eight."
    assert fit(sentences, 7) == "One two three. Six seven eight."  # rank 3 goes, order stays
    assert fit(sentences, 3) == "One two three."
    assert fit([(1, "One two. Three four five.")], 4) == "One two."  # cut at a sentence end
    assert fit([(1, "One two three four five")], 3) == "One two three…"
    assert fit([(1, ""), (2, "  Spaced   out. ")], 10) == "Spaced out."


def test_the_default_paragraph_is_capped_at_80_words(profiles: ProfileSet, tmp_path: Path) -> None:
    names = ["person", "dog", "bench", "bicycle", "umbrella"]
    boxes = [(0.0, 0.3, 0.2, 0.9), (0.4, 0.6, 0.55, 0.9), (0.7, 0.5, 0.95, 0.8), (0.3, 0.1, 0.4, 0.2)]
    objects = ObjectFacts(
        objects=tuple(DetectedObject(n, 0.9, b) for n, b in zip(names, boxes, strict=False)),
        counts=tuple(ObjectCount(n, 1, 0.9) for n in names),
    )
    labels = LabelFacts(
        labels=(
            Label("park bench", 0.5, "furniture", hypernyms=("bench", "seat")),
            Label("seashore", 0.4, "landscape"),
            Label("kite", 0.2, "object"),
            Label("frisbee", 0.15, "object"),
        )
    )
    colours = ColourFacts(
        palette=(Colour("sky blue", "blue", "#80c0ff", 0.5), Colour("sand", "beige", "#e0d0a0", 0.3)),
        bands=("blue", "", "beige"),
        texture=0.2,
    )
    sign = "Beach closed today because of strong currents please keep off the pier and the rocks"
    facts = {
        "objects": objects,
        "labels": labels,
        "colours": colours,
        "composition": shot(),
        "text": TextFacts(text=sign),
    }
    # the same sentences without the cap run past 80 words
    template = profiles.get("default").template.replace("fit(80)", "fit(1000)")
    path = tmp_path / "profiles.toml"
    path.write_text(f'[profiles.uncapped]\nextends = "default"\ntemplate = """{template}"""\n')
    uncapped = paragraph(ProfileSet.load(path), "uncapped", **facts)
    assert len(uncapped.split()) > 80 and "It may also show a kite or a frisbee." in uncapped
    text = paragraph(profiles, **facts)
    assert len(text.split()) <= 80
    # the least important sentences go first: the guesses, then the layout …
    assert "kite" not in text and "Sky fills" not in text and "Fine detail" not in text
    # … while the caption, the placements, the text, the colours and the framing stay, whole
    assert text.startswith("An image of a person, a dog, a bench (most likely a park bench), a bicycle")
    for kept in (
        "The person is on the left",
        f"Visible text reads “{sign}”.",
        "The main colours are",
        "The picture is",
    ):
        assert kept in text
    assert text.endswith(".")
