"""Render display type that OCR finds hard, with known text (issue 27, part 4).

    .venv/bin/python eval/creatives/display_type.py [OUT_DIR]   # default eval-results/display_type

The creatives dev set's renders are clean (OCR reads them at CER 0.013), so they cannot
choose a fix for what the issue saw on real creatives ("BLACK FRIDAY" → "BLACK", "€299" →
"299"). These are harder: heavy, condensed, oblique and outlined DejaVu faces (the only
family on this machine, `fc-list`), wide letter-spacing, headlines as wide as the frame,
drop shadows, small light fine print, on busy gradients, stripes and the shared dev set's
photos (read from ../shared/devset/images, never copied). Each image's lines, top to
bottom, go to `truth.json` beside the images; display_ocr.py scores OCR against it.
Rebuilt, never committed.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = Path(os.environ.get("SHARED_DEVSET", ROOT.parent / "shared" / "devset")) / "images"
FONTS = Path("/usr/share/fonts/truetype/dejavu")

HEADLINES = ["BLACK FRIDAY", "GRAND OPENING", "CYBER MONDAY", "SUMMER SALE", "FLASH DEAL",
             "MEGA CLEARANCE", "NEW SEASON", "LIMITED EDITION", "FREE SHIPPING", "WINTER WONDERLAND",
             "HAPPY HOUR", "OPEN HOUSE", "Big Savings", "Fresh Drops", "Last Chance",
             "Weekend Special"]  # fmt: skip
OFFERS = ["€299", "NOW £49.99", "$1,299", "€4.50/kg", "only $19", "from £9.99", "-40%", "UP TO 70% OFF",
          "SAVE €120", "$59.99", "2 for £5", "¥3,980"]  # fmt: skip
FINE = ["Offer valid until 30 November 2027.", "While stocks last. Terms apply.",
        "Free returns within 30 days", "Prices include VAT", "Not combinable with other offers.",
        "See store for details"]  # fmt: skip
# (face, letter-spacing in em, look): the headline's style
STYLES = [
    ("DejaVuSans-Bold.ttf", 0.45, "fill"),  # wide tracking: the detector's boxes split words
    ("DejaVuSansCondensed-Bold.ttf", 0.0, "fill"),
    ("DejaVuSerif-BoldItalic.ttf", 0.1, "fill"),
    ("DejaVuSans-Bold.ttf", 0.15, "outline"),  # outlined letters, the inside the background
    ("DejaVuSans-BoldOblique.ttf", 0.3, "shadow"),
    ("DejaVuSerifCondensed-Bold.ttf", 0.6, "fill"),
    ("DejaVuSansMono-Bold.ttf", 0.2, "outline"),
    ("DejaVuSans-Bold.ttf", 0.0, "huge"),  # as wide as the frame, cut by the edges' margin only
]
PHOTOS = ["grand-canyon.jpg", "city-skyline-night.jpg", "red-zinnias.jpg", "birch-forest.jpg",
          "hay-bales-field.jpg", "street-mural.jpg", "clothing-store.jpg", "swimming-pool.jpg"]  # fmt: skip
SIZES = [(1080, 1080), (1200, 628), (720, 1280), (1200, 400)]


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / name), size)


def background(kind: str, size: tuple[int, int], rng: random.Random) -> Image.Image:
    w, h = size
    if kind == "photo":
        photo = Image.open(SHARED / rng.choice(PHOTOS)).convert("RGB")
        scale = max(w / photo.width, h / photo.height)
        photo = photo.resize((math.ceil(photo.width * scale), math.ceil(photo.height * scale)))
        left, top = (photo.width - w) // 2, (photo.height - h) // 2
        return photo.crop((left, top, left + w, top + h))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    colours = np.array([[rng.randrange(256) for _ in range(3)] for _ in range(3)], np.float32)
    t = (xx / w + yy / h) / 2  # a diagonal gradient through three colours
    arr = np.where(
        (t < 0.5)[..., None],
        colours[0] * (1 - 2 * t[..., None]) + colours[1] * 2 * t[..., None],
        colours[1] * (2 - 2 * t[..., None]) + colours[2] * (2 * t[..., None] - 1),
    )
    if kind == "stripes":  # diagonal stripes over it, the period near a letter's width
        period = rng.uniform(0.03, 0.08) * w
        arr += (40 * np.sin(2 * np.pi * (xx + yy) / period))[..., None]
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")


def text_mask(size: tuple[int, int], xy: tuple[float, float], text: str, fnt: ImageFont.FreeTypeFont,
              tracking: float, stroke: int = 0) -> Image.Image:  # fmt: skip
    """The glyphs as an L mask, letter by letter with `tracking` em between them."""
    mask = Image.new("L", size, 0)
    d = ImageDraw.Draw(mask)
    x, y = xy
    for ch in text:
        d.text((x, y), ch, font=fnt, fill=255, stroke_width=stroke, stroke_fill=255)
        x += d.textlength(ch, font=fnt) + tracking * fnt.size
    return mask


def width(text: str, fnt: ImageFont.FreeTypeFont, tracking: float) -> float:
    return sum(fnt.getlength(ch) for ch in text) + tracking * fnt.size * (len(text) - 1)


def ink_for(img: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever stands out more from the mean under the box."""
    mean = np.asarray(img.crop(box)).reshape(-1, 3).mean(axis=0)
    return (20, 20, 20) if mean.mean() > 140 else (250, 250, 250)


def paint(img: Image.Image, mask: Image.Image, colour: tuple[int, int, int]) -> None:
    img.paste(Image.new("RGB", img.size, colour), (0, 0), mask)


def render(i: int, rng: random.Random) -> tuple[Image.Image, list[str]]:
    size = SIZES[i % len(SIZES)]
    w, h = size
    img = background(("photo", "gradient", "stripes")[i % 3], size, rng)
    face, tracking, look = STYLES[i % len(STYLES)]
    headline = HEADLINES[i % len(HEADLINES)]
    # the largest size that fits 92 % of the width (the "huge" look: 98 %), at most a
    # quarter of the height
    share = 0.98 if look == "huge" else 0.92
    fsize = int(h * 0.25)
    while width(headline, font(face, fsize), tracking) > w * share and fsize > 14:
        fsize = int(fsize * 0.95)
    fnt = font(face, fsize)
    x, y = (w - width(headline, fnt, tracking)) / 2, h * 0.18
    box = (int(x), int(y), int(x + width(headline, fnt, tracking)), int(y + fsize * 1.2))
    ink = ink_for(img, box)
    glyphs = text_mask(size, (x, y), headline, fnt, tracking)
    if look == "outline":
        ring = text_mask(size, (x, y), headline, fnt, tracking, stroke=max(2, fsize // 22))
        paint(img, ImageChops.subtract(ring, glyphs), ink)
    elif look == "shadow":
        off = max(2, fsize // 18)
        shadow = text_mask(size, (x + off, y + off), headline, fnt, tracking)
        paint(img, shadow, (0, 0, 0) if ink[0] > 128 else (200, 200, 200))
        paint(img, glyphs, ink)
    else:
        paint(img, glyphs, ink)
    lines = [headline]
    offer = OFFERS[i % len(OFFERS)]
    ofnt = font("DejaVuSans-Bold.ttf" if i % 2 else "DejaVuSerif-Bold.ttf", int(h * 0.12))
    while width(offer, ofnt, 0.05) > w * 0.8 and ofnt.size > 14:
        ofnt = font(ofnt.path.rsplit("/", 1)[1], int(ofnt.size * 0.9))
    ox, oy = (w - width(offer, ofnt, 0.05)) / 2, h * 0.5
    paint(
        img,
        text_mask(size, (ox, oy), offer, ofnt, 0.05),
        ink_for(img, (int(ox), int(oy), int(ox) + 10, int(oy) + 10)),
    )
    lines.append(offer)
    if i % 2 == 0:  # small light fine print near the bottom
        fine = FINE[i % len(FINE)]
        ffnt = font(
            "DejaVuSans-ExtraLight.ttf" if i % 4 == 0 else "DejaVuSans.ttf", max(12, int(min(w, h) * 0.022))
        )
        fx, fy = (w - ffnt.getlength(fine)) / 2, h * 0.88
        base = ink_for(img, (int(fx), int(fy), int(fx + ffnt.getlength(fine)), int(fy + ffnt.size)))
        grey = tuple(int(c * 0.6 + 128 * 0.4) for c in base)  # light: part way to mid-grey
        paint(img, text_mask(size, (fx, fy), fine, ffnt, 0.0), grey)  # type: ignore[arg-type]
        lines.append(fine)
    return img, lines


def main(out: Path, count: int = 48) -> None:
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED}: not found (set SHARED_DEVSET to the shared dev set's folder)")
    out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i in range(count):
        img, lines = render(i, random.Random(i))
        name = f"display-{i:02d}.jpg"
        img.save(out / name, quality=90)
        truth[name] = lines
    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False))
    print(f"{count} display-type images and truth.json in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval-results" / "display_type")
