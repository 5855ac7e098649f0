"""CompositionAnalyzer: shape, exposure, sharpness, framing, background, text load."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from describe import registry
from describe.analyzers.composition import CompositionAnalyzer, orientation, position
from describe.facts import CompositionFacts, DetectedObject, Facts, ObjectFacts, TextFacts, TextLine
from describe.intake import PreparedImage, load_image
from tests.conftest import encode


def prepare(image: np.ndarray | Image.Image, fmt: str = "PNG") -> PreparedImage:
    return load_image(encode(image, fmt))


def compose(image: np.ndarray | Image.Image | PreparedImage, **facts: object) -> CompositionFacts:
    prepared = image if isinstance(image, PreparedImage) else prepare(image)
    known = Facts(width=prepared.width, height=prepared.height, **facts)  # type: ignore[arg-type]
    result = CompositionAnalyzer().analyze(prepared, known)
    assert isinstance(result, CompositionFacts)
    return result


def objects(*boxes: tuple[float, float, float, float], score: float = 0.9) -> ObjectFacts:
    return ObjectFacts(objects=tuple(DetectedObject("thing", score, box) for box in boxes))


def gray(size: tuple[int, int], value: int = 128) -> np.ndarray:
    return np.full((size[1], size[0], 3), value, np.uint8)


def test_registered_and_model_free() -> None:
    assert registry.get("composition") is CompositionAnalyzer
    assert CompositionAnalyzer.requires == ("objects", "text")
    assert CompositionAnalyzer().loaded


@pytest.mark.parametrize(
    ("size", "expected", "ratio"),
    [
        ((1024, 683), "landscape", 1.499),
        ((683, 1024), "portrait", 0.667),
        ((800, 800), "square", 1.0),
        ((800, 780), "square", 1.026),
        ((800, 700), "landscape", 1.143),
    ],
)
def test_orientation_and_aspect(size: tuple[int, int], expected: str, ratio: float) -> None:
    facts = compose(gray(size))
    assert facts.orientation == expected
    assert facts.aspect_ratio == pytest.approx(ratio, abs=0.001)
    assert orientation(*size) == expected


def test_exposure_of_flat_fields() -> None:
    black, white = compose(gray((300, 200), 0)), compose(gray((300, 200), 255))
    assert black.brightness == 0.0 and black.lighting == "dark"
    assert white.brightness == 1.0 and white.lighting == "bright"
    assert compose(gray((300, 200), 70)).lighting == "dim"
    assert compose(gray((300, 200), 128)).lighting == "balanced"
    assert white.contrast == 0.0 and white.saturation == 0.0
    halves = gray((300, 200), 0)
    halves[:, 150:] = 255
    assert compose(halves).contrast == pytest.approx(1.0, abs=0.01)
    assert compose(np.full((200, 300, 3), (255, 0, 0), np.uint8)).saturation == pytest.approx(1.0)


def test_real_photos_are_sharp_and_blurred_copies_are_not(photos: dict[str, np.ndarray]) -> None:
    for name in ("chelsea", "coffee", "astronaut", "rocket", "china"):
        image = Image.fromarray(photos[name])
        sharp = compose(prepare(image, "JPEG"))
        radius = 2 * max(image.size) / 512  # σ = 2 px at the analyzer's 512 px scale
        soft = compose(prepare(image.filter(ImageFilter.GaussianBlur(radius)), "JPEG"))
        assert not sharp.blurry, (name, sharp.sharpness)
        assert soft.blurry, (name, soft.sharpness)
        assert soft.sharpness < sharp.sharpness / 5


def test_sharpness_is_resolution_independent() -> None:
    # one sharp scene drawn at 2048 px, uploaded at three sizes
    rng = np.random.default_rng(0)
    scene = Image.new("RGB", (2048, 1536), (128, 128, 128))
    draw = ImageDraw.Draw(scene)
    for _ in range(300):
        x, y, w, h = (int(v) for v in rng.integers((0, 0, 20, 20), (2048, 1536, 300, 300)))
        draw.rectangle((x, y, x + w, y + h), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    values = [
        compose(scene.resize((side, side * 3 // 4), Image.Resampling.LANCZOS)).sharpness
        for side in (1024, 800, 600)
    ]
    assert max(values) < 1.25 * min(values), values


def product_shot(background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    image = Image.new("RGB", (1024, 768), background)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((300, 180, 720, 600), 40, fill=(200, 40, 30))
    draw.ellipse((430, 300, 590, 460), fill=(30, 30, 30))
    noisy = np.asarray(image, np.float64) + np.random.default_rng(0).normal(0, 3, (768, 1024, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def test_product_on_white_has_plain_background_and_is_sharp() -> None:
    box = (300 / 1024, 180 / 768, 720 / 1024, 600 / 768)
    facts = compose(prepare(product_shot(), "JPEG"), objects=objects(box))
    assert facts.plain_background
    assert not facts.blurry  # the sharp tiles count, not the empty background
    assert facts.subject_position == "centre"
    assert facts.shot == "medium"
    assert compose(prepare(product_shot((40, 40, 40)), "JPEG")).plain_background


def test_photos_do_not_have_plain_backgrounds(photos: dict[str, np.ndarray]) -> None:
    for name in ("chelsea", "coffee", "astronaut", "china", "flower"):
        assert not compose(prepare(photos[name], "JPEG")).plain_background, name


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((0.4, 0.4, 0.6, 0.6), "centre"),
        ((0.05, 0.4, 0.25, 0.6), "left third"),
        ((0.75, 0.4, 0.95, 0.6), "right third"),
        ((0.4, 0.0, 0.6, 0.2), "top"),
        ((0.4, 0.8, 0.6, 1.0), "bottom"),
        ((0.0, 0.0, 0.2, 0.2), "upper left"),
        ((0.8, 0.05, 0.95, 0.25), "upper right"),
        ((0.1, 0.75, 0.3, 0.95), "lower left"),
        ((0.7, 0.7, 1.0, 1.0), "lower right"),
    ],
)
def test_subject_position_grid(box: tuple[float, float, float, float], expected: str) -> None:
    assert position(box) == expected
    assert compose(gray((300, 200)), objects=objects(box)).subject_position == expected


def test_main_object_is_largest_by_area_times_score() -> None:
    facts = ObjectFacts(
        objects=(
            DetectedObject("dog", 0.95, (0.7, 0.4, 0.9, 0.6)),  # right third, area 0.04
            DetectedObject("sofa", 0.3, (0.0, 0.3, 0.3, 0.7)),  # left, area 0.12 but doubtful: 0.036
        )
    )
    assert compose(gray((300, 200)), objects=facts).subject_position == "right third"


def test_shot_types() -> None:
    landscape, portrait = gray((400, 250)), gray((250, 400))
    assert compose(landscape, objects=objects((0.05, 0.05, 0.95, 0.95))).shot == "close-up"
    assert compose(landscape, objects=objects((0.3, 0.3, 0.6, 0.7))).shot == "medium"
    # a whole bus or horse over half the frame is not yet a close-up
    assert compose(landscape, objects=objects((0.1, 0.2, 0.9, 0.9))).shot == "medium"
    assert compose(landscape, objects=objects((0.4, 0.5, 0.5, 0.6))).shot == "wide"
    assert compose(portrait, objects=objects((0.4, 0.5, 0.5, 0.6))).shot == "medium"
    scene = np.random.default_rng(0).integers(0, 255, (250, 400, 3), dtype=np.uint8)
    assert compose(scene, objects=ObjectFacts()).shot == "wide"
    # an empty plain frame is a graphic, and framing words don't apply to a banner
    assert compose(landscape, objects=ObjectFacts()).shot is None
    banner = TextFacts((TextLine("SALE", 0.99, (0.1, 0.1, 0.9, 0.5)),), "SALE", coverage=0.3)
    assert compose(scene, objects=ObjectFacts(), text=banner).shot is None
    assert compose(portrait, objects=ObjectFacts()).shot is None
    no_detector = compose(landscape)
    assert no_detector.shot is None and no_detector.subject_position is None


def test_text_heavy() -> None:
    image = gray((400, 250))
    line = TextLine("SALE", 0.99, (0.1, 0.1, 0.9, 0.3))
    assert compose(image, text=TextFacts((line,), "SALE", coverage=0.16)).text_heavy
    assert not compose(image, text=TextFacts((line,), "SALE", coverage=0.01)).text_heavy
    many = tuple(TextLine(f"line {i}", 0.9, (0.1, i / 20, 0.3, i / 20 + 0.01)) for i in range(10))
    assert compose(image, text=TextFacts(many, "…", coverage=0.02)).text_heavy
    assert not compose(image, text=TextFacts()).text_heavy
    assert not compose(image).text_heavy


def test_extreme_shapes_do_not_break() -> None:
    for size in ((1024, 3), (3, 1024), (1, 1)):
        facts = compose(gray(size))
        assert facts.sharpness == 0.0
