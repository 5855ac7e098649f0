"""Where a creative's picture sits (issue 27, the layout's product position): from the
pixels that differ from the background, away from the text and its button."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from describe.analyzers.creative_position import picture_position
from describe.describer import Describer
from describe.facts import Caption, CreativeFacts, CreativePart, Facts, TextFacts, TextLine
from describe.knowledge import creative_text as ct

W = H = 400
RULES = ct.table().position
# a headline and a button in a column on the left half
LEFT_TEXT = (
    TextLine("SUMMER SALE", 0.99, (0.06, 0.3, 0.46, 0.4)),
    TextLine("Shop now", 0.99, (0.1, 0.55, 0.3, 0.62)),
)


def _post(picture: tuple[int, int, int, int] | None, text: tuple[TextLine, ...] = LEFT_TEXT) -> np.ndarray:
    """A flat blue post: the text (black glyph blocks in its boxes), a red button round the
    last line, and a drawn picture (a green disc in the box given) or none."""
    img = Image.new("RGB", (W, H), (40, 90, 200))
    d = ImageDraw.Draw(img)
    *words, button = text
    x0, y0, x1, y1 = (v * W for v in button.box)
    d.rounded_rectangle([x0 - 12, y0 - 8, x1 + 12, y1 + 8], radius=12, fill=(220, 40, 40))
    for line in words:
        d.rectangle([v * W for v in line.box], fill=(10, 10, 10))
    if picture:
        d.ellipse(picture, fill=(60, 200, 90), outline=(250, 250, 250), width=6)
    return np.asarray(img)


@pytest.mark.parametrize(
    ("picture", "text", "expected"),
    [
        ((230, 100, 380, 300), LEFT_TEXT, "right"),
        ((130, 140, 270, 260), (TextLine("SALE", 0.99, (0.3, 0.04, 0.7, 0.14)),
                                TextLine("Shop now", 0.99, (0.4, 0.85, 0.6, 0.92))), "centre"),
        ((120, 220, 280, 380), (TextLine("SALE", 0.99, (0.3, 0.05, 0.7, 0.15)),
                                TextLine("Shop now", 0.99, (0.4, 0.3, 0.6, 0.37))), "bottom"),
        (None, LEFT_TEXT, ""),  # text and its button alone: no picture
    ],
)  # fmt: skip
def test_the_picture_is_where_it_was_drawn(
    picture: tuple[int, int, int, int] | None, text: tuple[TextLine, ...], expected: str
) -> None:
    assert picture_position(_post(picture, text), text, RULES) == expected


def test_the_side_opposite_the_text_on_a_gradient() -> None:
    top, bottom = np.array([250, 240, 220.0]), np.array([200, 150, 90.0])
    ramp = np.linspace(0, 1, H)[:, None, None]
    rgb = np.repeat(top * (1 - ramp) + bottom * ramp, W, axis=1).astype(np.uint8)
    img = Image.fromarray(rgb)
    ImageDraw.Draw(img).rectangle([20, 120, 170, 300], fill=(90, 60, 40))  # a picture at the left edge
    text = (
        TextLine("Cosy coats", 0.99, (0.5, 0.3, 0.95, 0.4)),
        TextLine("Shop now", 0.99, (0.6, 0.55, 0.8, 0.62)),
    )
    assert picture_position(np.asarray(img), text, RULES) == "left"


def test_no_position_over_a_photo_under_confetti_or_in_a_frame() -> None:
    photo = np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8)
    assert picture_position(photo, LEFT_TEXT, RULES) == ""
    rng = np.random.default_rng(4)
    img = Image.fromarray(_post(None))
    d = ImageDraw.Draw(img)
    for x, y in rng.uniform(0, W, (60, 2)):  # confetti: many specks, none a picture
        d.rectangle([x, y, x + 5, y + 3], fill=(250, 200, 40))
    d.rectangle([3, 3, W - 4, H - 4], outline=(250, 250, 250), width=4)  # a frame round it all
    assert picture_position(np.asarray(img), LEFT_TEXT, RULES) == ""
    assert picture_position(photo[:8, :8], (), RULES) == ""  # too small to look at


def test_the_detailed_profile_says_where_the_picture_is() -> None:
    found = CreativeFacts(
        kind="ad",
        format="square",
        layout="text top",
        product_position="bottom",
        parts=(CreativePart("headline", "NEW ARRIVALS"), CreativePart("cta", "Shop now")),
    )
    lines = (TextLine("NEW ARRIVALS", 0.99, (0.1, 0.08, 0.9, 0.2)),)
    facts = Facts(
        width=W,
        height=H,
        text=TextFacts(lines=lines, text="NEW ARRIVALS", coverage=0.1),
        creative=found,
        caption=Caption("An image.", "vlm", vlm=True),
    )
    assert (
        "Layout: text top, the picture at the bottom." in Describer().compose(facts, "detailed").description
    )
