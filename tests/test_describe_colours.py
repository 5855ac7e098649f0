"""ColourAnalyzer: palettes of flat fields and real photos, names, families, grayscale."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from describe import registry
from describe.analyzers.colours import ColourAnalyzer, colour_name, family
from describe.facts import ColourFacts, Facts
from describe.intake import PreparedImage, load_image
from tests.conftest import encode

FAMILIES = {
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
    "black",
    "white",
    "gray",
    "beige",
}


def prepare(image: np.ndarray | Image.Image, fmt: str = "PNG") -> PreparedImage:
    return load_image(encode(image, fmt))


def palette(image: np.ndarray | Image.Image, fmt: str = "PNG", **options: object) -> ColourFacts:
    facts = ColourAnalyzer(**options).analyze(prepare(image, fmt))
    assert isinstance(facts, ColourFacts)
    return facts


def field(rgb: tuple[int, int, int], size: tuple[int, int] = (200, 300)) -> np.ndarray:
    return np.full((*size, 3), rgb, np.uint8)


def rgb(hex_: str) -> np.ndarray:
    return np.array([int(hex_[i : i + 2], 16) for i in (1, 3, 5)], np.uint8)


def test_registered_with_aliases() -> None:
    for name in ("colours", "colors", "palette"):
        assert registry.get(name) is ColourAnalyzer
    assert ColourAnalyzer().loaded  # model-free


def test_pure_red_field() -> None:
    facts = palette(field((255, 0, 0)))
    assert len(facts.palette) == 1
    (red,) = facts.palette
    assert red.family == "red"
    assert "red" in red.name
    assert red.hex == "#ff0000"
    assert red.coverage == pytest.approx(1.0)
    assert not facts.grayscale


def test_half_blue_half_white_through_jpeg() -> None:
    image = field((255, 255, 255), (300, 400))
    image[:, :200] = (20, 60, 200)
    facts = palette(image, "JPEG")
    by_family = {c.family: c for c in facts.palette}
    assert set(by_family) == {"blue", "white"}
    assert by_family["blue"].coverage == pytest.approx(0.5, abs=0.03)
    assert by_family["white"].coverage == pytest.approx(0.5, abs=0.03)
    assert by_family["white"].name == "white"


def test_palette_is_sorted_capped_and_above_min_coverage() -> None:
    # eight distinct stripes of 1/8 each, plus the options that cut them down
    colours = [
        (255, 0, 0),
        (0, 160, 0),
        (0, 0, 255),
        (255, 230, 0),
        (0, 0, 0),
        (255, 255, 255),
        (128, 0, 128),
        (255, 140, 0),
    ]
    widths = [80, 70, 60, 50, 40, 30, 20, 10]
    image = np.concatenate(
        [np.full((100, w, 3), c, np.uint8) for c, w in zip(colours, widths, strict=True)], axis=1
    )
    full = palette(image, max_colours=20, min_coverage=0.0)
    coverages = [c.coverage for c in full.palette]
    assert coverages == sorted(coverages, reverse=True)
    assert sum(coverages) == pytest.approx(1.0, abs=0.002)  # nothing lost with no limits
    families = {"red", "green", "blue", "yellow", "black", "white", "purple", "orange"}
    assert {c.family for c in full.palette[:8]} == families
    assert len(palette(image).palette) == 5  # max_colours default
    assert all(c.coverage >= 0.1 for c in palette(image, min_coverage=0.1, max_colours=8).palette)


def test_similar_shades_are_merged() -> None:
    # three browns a reader would call one colour, noise on top: one entry, not three
    rng = np.random.default_rng(0)
    image = field((110, 70, 40), (120, 360)).astype(np.int16)
    image[:, 120:240] = (118, 76, 44)
    image[:, 240:] = (104, 66, 36)
    image += rng.integers(-6, 7, image.shape, dtype=np.int16)
    facts = palette(np.clip(image, 0, 255).astype(np.uint8))
    assert [c.family for c in facts.palette] == ["brown"]
    assert facts.palette[0].coverage == pytest.approx(1.0, abs=0.01)


def test_names_in_palette_are_unique_on_real_photos(photos: dict[str, np.ndarray]) -> None:
    for name in ("coffee", "chelsea", "astronaut", "china", "flower"):
        facts = palette(photos[name], "JPEG")
        names = [c.name for c in facts.palette]
        assert len(names) == len(set(names)), (name, names)
        assert 1 <= len(names) <= 5
        assert all(c.family in FAMILIES and c.coverage >= 0.05 for c in facts.palette)
        assert not facts.grayscale, name


def test_cat_photo_is_mostly_brown(photos: dict[str, np.ndarray]) -> None:
    facts = palette(photos["chelsea"])
    assert facts.palette[0].family == "brown"
    assert facts.palette[0].coverage > 0.4


def test_grayscale_detection(photos: dict[str, np.ndarray]) -> None:
    assert palette(photos["camera"]).grayscale
    gray = ImageOps.grayscale(Image.fromarray(photos["coffee"])).convert("RGB")
    facts = palette(gray, "JPEG")
    assert facts.grayscale  # a colour photo converted to gray, through JPEG
    assert {c.family for c in facts.palette} <= {"black", "gray", "white"}
    assert not palette(photos["coffee"], "JPEG").grayscale


def test_sepia_is_not_grayscale(photos: dict[str, np.ndarray]) -> None:
    gray = np.asarray(ImageOps.grayscale(Image.fromarray(photos["chelsea"])), np.float64)[..., None]
    sepia = np.clip(gray * np.array([1.07, 0.74, 0.43]), 0, 255).astype(np.uint8)
    facts = palette(sepia)
    assert not facts.grayscale
    assert facts.palette[0].family in {"brown", "beige", "orange"}


@pytest.mark.parametrize(
    ("hex_", "expected"),
    [
        ("#ff0000", "red"),
        ("#8b0000", "red"),
        ("#ffa500", "orange"),
        ("#ffd700", "yellow"),
        ("#008000", "green"),
        ("#808000", "green"),  # olive
        ("#000080", "blue"),  # navy
        ("#87ceeb", "blue"),  # sky blue
        ("#800080", "purple"),
        ("#8a2be2", "purple"),  # blue violet: Lab hue alone would call it blue
        ("#ff69b4", "pink"),
        ("#ffc0cb", "pink"),
        ("#8b4513", "brown"),
        ("#d2b48c", "beige"),  # tan
        ("#f5f5dc", "beige"),
        ("#000000", "black"),
        ("#ffffff", "white"),
        ("#808080", "gray"),
        ("#d3d3d3", "gray"),
    ],
)
def test_family_rules(hex_: str, expected: str) -> None:
    assert family(rgb(hex_)) == expected


@pytest.mark.parametrize(
    ("hex_", "expected"),
    [
        ("#14224f", "navy blue"),
        ("#6b6b23", "olive green"),
        ("#d3d3d3", "light gray"),
        ("#4a2c17", "dark brown"),
    ],
)
def test_names_from_table(hex_: str, expected: str) -> None:
    assert colour_name(rgb(hex_)) == expected


def test_name_agrees_with_family() -> None:
    # a neutral #989898 is nearest to "blue gray" by distance; the family rule says gray
    assert family(rgb("#989898")) == "gray"
    assert colour_name(rgb("#989898")) in {"gray", "silver", "dark gray", "light gray"}


def test_tiny_image() -> None:
    facts = palette(field((0, 128, 0), (1, 1)))
    assert [c.family for c in facts.palette] == ["green"]


def test_each_detection_gets_the_colour_of_its_centre() -> None:
    from describe.facts import DetectedObject, ObjectFacts

    image = field((255, 255, 255), (200, 300))
    image[50:150, 30:130] = (200, 20, 30)  # a red square on the left
    image[60:140, 200:233] = (200, 20, 30)  # red, blue and green stripes on the right: mixed
    image[60:140, 233:247] = (20, 40, 200)
    image[60:140, 247:280] = (30, 160, 40)
    objects = ObjectFacts(
        objects=(
            DetectedObject("box", 0.9, (0.1, 0.25, 0.43, 0.75)),
            DetectedObject("box", 0.8, (0.66, 0.3, 0.94, 0.7)),
            DetectedObject("dot", 0.7, (0.5, 0.5, 0.505, 0.505)),  # too small to say
        )
    )
    prepared = prepare(image)
    facts = ColourAnalyzer().analyze(
        prepared, Facts(width=prepared.width, height=prepared.height, objects=objects)
    )
    assert facts.object_colours == ("red", "", "")
    assert ColourAnalyzer().analyze(prepare(image)).object_colours == ()


def test_bands_texture_and_bright_points() -> None:
    landscape = np.zeros((240, 320, 3), np.uint8)
    landscape[:80] = (90, 150, 230)  # sky
    landscape[80:] = (60, 140, 50)  # fields
    facts = palette(landscape)
    assert facts.bands == ("blue", "green", "green")
    assert facts.texture < 0.03 and not facts.bright_points
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert palette(noise).texture > 0.1
    stars = np.full((400, 600, 3), 5, np.uint8)
    rng = np.random.default_rng(1)
    for y, x in zip(rng.integers(0, 398, 60), rng.integers(0, 598, 60), strict=True):
        stars[y : y + 2, x : x + 2] = 255
    assert palette(stars).bright_points
    moon = np.full((400, 600, 3), 5, np.uint8)
    moon[150:250, 250:350] = 240  # one big bright disc is not "points"
    assert not palette(moon).bright_points
