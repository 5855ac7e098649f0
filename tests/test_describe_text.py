"""TextReader: RapidOCR on rendered English banners and on photos without text, with the
PP-OCRv6 models of the rapidocr wheel and the PP-OCRv4 ones read from the downloaded
rapidocr-onnxruntime wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import msgspec
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from describe import model_wheels, registry
from describe.analyzers import text as text_module
from describe.analyzers.text import TextReader, group_lines
from describe.errors import ModelError
from describe.facts import TextFacts
from describe.intake import PreparedImage, load_image
from tests.conftest import encode

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def render(
    lines: list[str],
    size: tuple[int, int] = (1024, 400),
    font: str = "DejaVuSans-Bold.ttf",
    px: int = 72,
    bg: str = "white",
    fg: str = "black",
    at: tuple[int, int] = (40, 40),
) -> PreparedImage:
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(str(FONTS / font), px)
    x, y = at
    for line in lines:
        draw.text((x, y), line, font=face, fill=fg)
        y += int(px * 1.4)
    return load_image(encode(image, "JPEG", quality=90))


@pytest.fixture(scope="module")
def reader() -> TextReader:
    r = TextReader(threads=2)
    r.load()
    return r


def read(reader: TextReader, image: PreparedImage) -> TextFacts:
    facts = reader.analyze(image)
    assert isinstance(facts, TextFacts)
    return facts


def test_registered_with_alias() -> None:
    assert registry.get("text") is TextReader
    assert registry.get("ocr") is TextReader


def sessions(reader: TextReader) -> list[Any]:
    """The ONNX Runtime sessions of the detector, classifier (when asked for) and recogniser."""
    engines = (reader._det, reader._cls, reader._rec)
    return [engine.session.session for engine in engines if engine is not None]


def test_the_classifier_loads_only_when_asked_for() -> None:
    plain, turned = TextReader(threads=1), TextReader(threads=1, use_cls=True)
    plain.load()
    turned.load()
    assert plain._cls is None
    assert turned._cls is not None
    assert len(sessions(plain)) == 2 and len(sessions(turned)) == 3


@pytest.mark.slow
def test_ocr_sessions_sleep_instead_of_spinning(reader: TextReader) -> None:
    for session in sessions(reader):
        options = session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == 2
        assert options.inter_op_num_threads == 1


def test_readers_loading_at_once_both_sleep() -> None:
    from concurrent.futures import ThreadPoolExecutor

    readers = [TextReader(threads=1), TextReader(threads=1)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda r: r.load(), readers))
    for reader in readers:
        for session in sessions(reader):
            options = session.get_session_options()
            assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
            assert options.intra_op_num_threads == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("detector", "recogniser"), [("PP-OCRv6", "PP-OCRv6"), ("PP-OCRv4", "PP-OCRv6"), ("PP-OCRv4", "PP-OCRv4")]
)
def test_loads_and_reads_without_the_network(
    monkeypatch: pytest.MonkeyPatch, detector: str, recogniser: str
) -> None:
    # The models are inside the installed rapidocr wheel or the downloaded rapidocr-onnxruntime
    # one: loading and reading must never reach RapidOCR's downloader (models, dictionaries,
    # fonts) or open a connection at all.
    import socket

    from rapidocr.utils.download_file import DownloadFile

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access")

    monkeypatch.setattr(DownloadFile, "run", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    reader = TextReader(threads=1, use_cls=True, detector=detector, recogniser=recogniser)
    reader.load()
    assert read(reader, render(["SUMMER SALE 50% OFF"])).text == "SUMMER SALE 50% OFF"


def test_the_pp_ocrv4_models_come_from_the_downloaded_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    # not from rapidocr's own package (it ships no PP-OCRv4 models) and not from a download
    read_members: list[str] = []
    real = model_wheels.read_member

    def spy(wheel: Path, member: str) -> bytes:
        assert wheel.name == text_module.OLD_WHEEL
        read_members.append(member)
        return real(wheel, member)

    monkeypatch.setattr(model_wheels, "read_member", spy)
    reader = TextReader(threads=1, detector="PP-OCRv4", recogniser="PP-OCRv4")
    reader.load()
    assert read_members == [text_module.DETECTORS["PP-OCRv4"].file, text_module.RECOGNISERS["PP-OCRv4"].file]
    # PP-OCRv4's alphabet comes from the model's metadata: 6,623 characters, blank and space
    assert len(reader._chars) == 6625 and reader._chars[0] == "blank" and reader._chars[-1] == " "
    assert read(reader, render(["Free coffee today"])).text == "Free coffee today"


def test_a_missing_model_wheel_is_one_clear_error_saying_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(model_wheels, "wheel_dirs", lambda: [tmp_path])
    with pytest.raises(ModelError) as caught:
        TextReader(threads=1, detector="PP-OCRv4", recogniser="PP-OCRv6").load()
    message = caught.value.message
    assert "\n" not in message
    assert text_module.OLD_WHEEL in message and str(tmp_path) in message
    assert "make install" in message
    assert "pip download --no-deps rapidocr-onnxruntime==1.4.4 -d DIR" in message
    assert "IMGDESC_MODEL_WHEELS=DIR" in message


def test_the_model_wheels_folder_from_the_environment_is_searched_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    wheel = tmp_path / text_module.OLD_WHEEL
    wheel.write_bytes(b"PK not really a zip")
    monkeypatch.setenv("IMGDESC_MODEL_WHEELS", str(tmp_path))
    assert model_wheels.find_wheel(text_module.OLD_WHEEL, "unused") == wheel
    with pytest.raises(ModelError, match=f"cannot read .* from {wheel}"):
        TextReader(threads=1, detector="PP-OCRv4").load()


def test_an_unknown_model_name_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="detector must be one of PP-OCRv4, PP-OCRv6, not 'PP-OCRv5'"):
        TextReader(detector="PP-OCRv5").load()


def test_banner_words_keep_their_spaces(reader: TextReader) -> None:
    # The Chinese-trained recogniser alone reads this as "SUMMER SALE 50%OFF".
    facts = read(reader, render(["SUMMER SALE 50% OFF"]))
    assert facts.text == "SUMMER SALE 50% OFF"
    assert len(facts.lines) == 1
    assert facts.lines[0].score > 0.9
    # plain floats, not numpy scalars: facts must encode as they are
    decoded = msgspec.json.decode(msgspec.json.encode(facts), type=TextFacts)
    assert decoded == facts


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lines", "font", "px", "colours"),
    [
        (["Free shipping on all orders"], "DejaVuSans.ttf", 48, ("white", "black")),
        (["COFFEE & TEA"], "DejaVuSerif-Bold.ttf", 80, ("navy", "yellow")),
        (["the quick brown fox jumps"], "DejaVuSerif.ttf", 40, ("#eeeeee", "#333333")),
        (["Hello world, this is a test of small text."], "DejaVuSans.ttf", 22, ("white", "black")),
    ],
)
def test_word_spacing_across_fonts(
    reader: TextReader, lines: list[str], font: str, px: int, colours: tuple[str, str]
) -> None:
    facts = read(reader, render(lines, font=font, px=px, bg=colours[0], fg=colours[1]))
    assert facts.text.split() == lines[0].split()
    assert facts.text == lines[0]


@pytest.mark.slow
def test_reading_order_and_boxes(reader: TextReader) -> None:
    image = render(["Grand Opening", "Today only", "Free coffee"], size=(1024, 768), px=64, at=(60, 120))
    facts = read(reader, image)
    assert facts.text.split("\n") == ["Grand Opening", "Today only", "Free coffee"]
    tops = [line.box[1] for line in facts.lines]
    assert tops == sorted(tops)
    for line in facts.lines:
        x0, y0, x1, y1 = line.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert 0.04 < x0 < 0.08  # drawn at x = 60 of 1024
    assert 0.14 < facts.lines[0].box[1] < 0.18  # drawn at y = 120 of 768 (cap height starts a bit lower)
    # three lines of 64 px text on a 1024×768 page cover roughly a fifth of it
    assert 0.1 < facts.coverage < 0.3


@pytest.mark.slow
def test_words_on_one_row_become_one_line(reader: TextReader) -> None:
    # Widely spaced words give the detector separate boxes; they must still read as one line.
    facts = read(reader, render(["OPEN    24    HOURS"], size=(1024, 300), px=80))
    assert facts.text == "OPEN 24 HOURS"


@pytest.mark.slow
def test_photo_without_text_reads_nothing(reader: TextReader, photos: dict[str, np.ndarray]) -> None:
    for name in ("chelsea", "coffee", "china", "flower"):
        facts = read(reader, load_image(encode(photos[name])))
        assert facts.text == "", name
        assert facts.lines == ()
        assert facts.coverage == 0.0


@pytest.mark.slow
def test_blank_image_skips_recognition(reader: TextReader, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("recogniser ran on an image with no text boxes")

    monkeypatch.setattr(reader, "_recognise", fail)
    facts = read(reader, load_image(encode(np.full((300, 400, 3), 128, np.uint8))))
    assert facts == TextFacts()


@pytest.mark.slow
def test_min_score_option(reader: TextReader, monkeypatch: pytest.MonkeyPatch) -> None:
    banner = render(["SUMMER SALE 50% OFF"])
    monkeypatch.setattr(reader.opts, "min_score", 1.01)  # options are read per call
    assert read(reader, banner) == TextFacts()
    monkeypatch.setattr(reader.opts, "min_score", 0.5)
    assert read(reader, banner).text == "SUMMER SALE 50% OFF"


@pytest.mark.slow
def test_tiny_and_flat_images(reader: TextReader) -> None:
    assert read(reader, load_image(encode(np.zeros((8, 8, 3), np.uint8)))).text == ""
    # 1024×110: RapidOCR letterboxes strips wider than 8:1; boxes must come back unpadded
    facts = read(reader, render(["THIN BANNER TEXT"], size=(1024, 110), px=48, at=(20, 25)))
    assert facts.text == "THIN BANNER TEXT"
    assert 0.1 < facts.lines[0].box[1] < 0.45


def test_group_lines_orders_rows_and_splits_columns() -> None:
    words = [
        ("world", 0.9, (120.0, 10.0, 200.0, 40.0)),
        ("second", 0.8, (10.0, 60.0, 100.0, 90.0)),
        ("hello", 1.0, (10.0, 12.0, 100.0, 42.0)),
        ("far", 0.9, (600.0, 11.0, 650.0, 41.0)),  # many line heights away: another column
    ]
    lines = group_lines(words)
    assert [text for text, _, _ in lines] == ["hello world", "far", "second"]
    _, score, box = lines[0]
    assert box == (10.0, 10.0, 200.0, 42.0)
    assert score == pytest.approx((1.0 * 5 + 0.9 * 5) / 10)


def test_full_width_forms_are_folded_to_plain_characters(reader: TextReader) -> None:
    # the recogniser's alphabet has full-width punctuation and letters; a read that picks
    # them must come out as the ordinary characters (they render as missing glyphs)
    chars = reader._chars
    picks = [chars.index(c) for c in "（Ａ１）：" if c in chars]
    assert len(picks) >= 3, "the alphabet has full-width forms"
    probs = np.zeros((2 * len(picks), len(chars)), np.float32)
    for frame, index in enumerate(picks):
        probs[2 * frame, index] = 1.0  # the character …
        probs[2 * frame + 1, 0] = 1.0  # … then the CTC blank
    text, score = reader._decode(probs)
    assert text == "".join(chars[i] for i in picks).translate(str.maketrans("（Ａ１）：", "(A1):"))
    assert text.isascii() and score == 1.0


def test_trim_before_detection_follows_the_describers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from describe import describer as describer_module
    from describe.analyzers import text as text_module
    from describe.config import DescribeSettings

    trims: list[str] = []
    monkeypatch.setattr(text_module, "release_freed_memory", lambda: trims.append("trim"))
    blank = load_image(encode(np.full((120, 160, 3), 128, np.uint8)))
    for setting in (True, False):
        trims.clear()
        reader = describer_module.Describer(DescribeSettings(trim_memory=setting)).analyzer("text", "text")
        assert isinstance(reader, TextReader)
        reader.load()
        reader.analyze(blank)
        assert trims == (["trim"] if setting else []), setting


def tracked(text: str, px: int = 64, tracking: float = 0.5) -> PreparedImage:
    """White display type on black, every letter set `tracking` em apart (letter-spacing)."""
    image = Image.new("RGB", (1024, 300), "black")
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), px)
    x = 40.0
    for char in text:
        draw.text((x, 100), char, font=face, fill="white")
        x += draw.textlength(char, font=face) + tracking * px
    return load_image(encode(image, "JPEG", quality=90))


@pytest.mark.slow
@pytest.mark.parametrize("tracking", [0.45, 0.6])
def test_letter_spaced_headlines_read_as_words(
    reader: TextReader, tracking: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    headline = tracked("BLACK FRIDAY", tracking=tracking)
    assert read(reader, headline).text == "BLACK FRIDAY"
    # without the display-type steps, as the reader was: the space suggested in every gap
    monkeypatch.setattr(reader.opts, "letter_spacing", False)
    monkeypatch.setattr(reader.opts, "merge_rows", False)
    assert read(reader, headline).text == "B L A C K F R I D A Y"
