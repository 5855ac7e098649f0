"""The OCR gate: two cheap looks that let a photo without text skip the full detector,
and never cost a text the full look reads (describe/analyzers/text_gate.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from describe.analyzers import text_gate
from describe.analyzers.text import TextReader
from describe.facts import TextFacts
from describe.intake import PreparedImage, load_image
from tests.conftest import encode
from tests.test_describe_text import FONTS, render


@pytest.fixture(scope="module")
def reader() -> TextReader:
    r = TextReader(threads=2)
    r.load()
    return r


def small_rotated_text(photo: np.ndarray) -> PreparedImage:
    """A photo with one short line of small dark type on a light plate, turned 30°: the
    kind of text the 384 px first look misses (a sign in a street scene)."""
    plate = Image.new("RGB", (260, 40), "white")
    ImageDraw.Draw(plate).text(
        (8, 8), "RAIL CROSSING", font=ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), 22), fill="black"
    )
    turned = plate.rotate(30, expand=True, fillcolor=(255, 255, 255))
    mask = plate.convert("L").point(lambda _: 255).rotate(30, expand=True)
    base = Image.fromarray(photo).convert("RGB").resize((1024, 768))
    base.paste(turned, (600, 420), mask)
    return load_image(encode(np.asarray(base)))


def count_full_looks(reader: TextReader, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    full = reader._detect

    def counted(bgr: np.ndarray) -> Any:
        calls.append(1)
        return full(bgr)

    monkeypatch.setattr(reader, "_detect", counted)
    return calls


@pytest.mark.slow
def test_photos_without_text_skip_the_full_look(
    reader: TextReader, photos: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_full_looks(reader, monkeypatch)
    for name in ("astronaut", "china", "flower", "coffee"):
        assert reader.analyze(load_image(encode(photos[name]))) == TextFacts(), name
    assert calls == []


@pytest.mark.slow
def test_the_gate_reads_what_the_full_look_reads(reader: TextReader, monkeypatch: pytest.MonkeyPatch) -> None:
    banner = render(["SUMMER SALE", "50% OFF"])
    fine_print = render(["Free returns within 30 days at any store"], size=(1024, 768), px=14, at=(600, 700))
    for image in (banner, fine_print):
        monkeypatch.setattr(reader.opts, "gate", True)
        gated = reader.analyze(image)
        monkeypatch.setattr(reader.opts, "gate", False)
        assert gated == reader.analyze(image)
        assert gated.text


@pytest.mark.slow
def test_small_turned_text_passes_on_its_strokes(reader: TextReader, photos: dict[str, np.ndarray]) -> None:
    assert text_gate.stroke_chains(load_image(encode(photos["china"])).bgr) < text_gate.DEFAULT_MIN_CHAINS
    image = small_rotated_text(photos["china"])
    # the low look alone would miss it; the stroke chains catch it
    assert not text_gate.first_look(reader._det, image.bgr)
    assert text_gate.stroke_chains(image.bgr) >= text_gate.DEFAULT_MIN_CHAINS
    assert text_gate.maybe_text(reader._det, image.bgr)
    assert "CROSSING" in reader.analyze(image).text


def test_stroke_chains_count_letters_on_a_line_not_scattered_dots() -> None:
    canvas = Image.new("L", (640, 480), 230)
    draw = ImageDraw.Draw(canvas)
    draw.text((40, 200), "ABCDEFGH", font=ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 28), fill=20)
    letters = np.stack([np.asarray(canvas)] * 3, axis=-1)
    rng = np.random.default_rng(0)
    dots = Image.new("L", (640, 480), 230)
    for x, y in rng.integers(20, 460, size=(40, 2)):
        ImageDraw.Draw(dots).ellipse((x, y, x + 12, y + 12), fill=20)
    scattered = np.stack([np.asarray(dots)] * 3, axis=-1)
    assert text_gate.stroke_chains(letters) >= text_gate.DEFAULT_MIN_CHAINS
    assert text_gate.stroke_chains(scattered) < text_gate.DEFAULT_MIN_CHAINS
    assert text_gate.stroke_chains(np.full((480, 640, 3), 128, np.uint8)) == 0


@pytest.mark.slow
def test_an_image_no_larger_than_the_first_look_goes_to_the_full_look(reader: TextReader) -> None:
    tiny = np.full((300, 380, 3), 128, np.uint8)
    assert text_gate.maybe_text(reader._det, tiny)


def test_bold_display_type_passes_on_coarse_strokes_without_the_detector(
    reader: TextReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sign's 96 px bold headline has strokes too thick for the kernel at 800 px; at
    400 px they are thin enough, so the gate passes it without the detector's low look."""
    canvas = Image.new("RGB", (1024, 512), (200, 30, 40))
    draw = ImageDraw.Draw(canvas)
    bold = str(FONTS / "DejaVuSans-Bold.ttf")
    draw.text((512, 200), "SUMMER SALE", font=ImageFont.truetype(bold, 96), fill="white", anchor="mm")
    draw.text((512, 340), "50% OFF", font=ImageFont.truetype(bold, 56), fill="white", anchor="mm")
    sign = np.asarray(canvas)[:, :, ::-1].copy()
    assert text_gate.stroke_chains(sign, 800) < text_gate.DEFAULT_MIN_CHAINS
    assert text_gate.stroke_chains(sign, 400) >= text_gate.DEFAULT_MIN_CHAINS
    looks: list[int] = []

    def first_look(*_: Any) -> bool:
        looks.append(1)
        return True

    monkeypatch.setattr(text_gate, "first_look", first_look)
    assert text_gate.maybe_text(reader._det, sign)
    assert looks == []
