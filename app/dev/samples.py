"""A small sample set built from photos that ship inside Python packages
(scikit-image, scikit-learn, matplotlib) plus rendered signs with known text.

Used by the benchmark and the evaluation; needs the `dev` extras.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIGNS = [
    ("summer-sale", "SUMMER SALE", "50% OFF", (200, 30, 40), (255, 255, 255)),
    ("open-daily", "OPEN DAILY", "9 AM - 5 PM", (20, 60, 140), (255, 230, 80)),
    ("fresh-coffee", "FRESH COFFEE", "Espresso Bar", (60, 40, 30), (240, 220, 190)),
    ("free-shipping", "FREE SHIPPING", "on all orders", (255, 255, 255), (20, 20, 20)),
    ("new-arrivals", "NEW ARRIVALS", "Spring Collection", (30, 120, 70), (255, 255, 255)),
]


def font(size: int) -> ImageFont.FreeTypeFont:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans-Bold.ttf"
    return ImageFont.truetype(str(path), size)


def render_sign(title: str, subtitle: str, bg: tuple[int, int, int], fg: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (1024, 512), bg)
    draw = ImageDraw.Draw(image)
    draw.text((512, 200), title, font=font(96), fill=fg, anchor="mm")
    draw.text((512, 340), subtitle, font=font(56), fill=fg, anchor="mm")
    return image


def photos() -> dict[str, np.ndarray]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    import matplotlib

    hopper_path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    hopper = np.asarray(Image.open(hopper_path).convert("RGB"))
    return {
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "astronaut": data.astronaut(),
        "rocket": data.rocket(),
        "china": china,
        "flower": flower,
        "grace-hopper": hopper,
        "camera": data.camera(),
        "coins": data.coins(),
        "moon": data.moon(),
        "immunohistochemistry": data.immunohistochemistry(),
        "hubble": data.hubble_deep_field(),
        "retina": data.retina(),
        "clock": data.clock(),
        "colorwheel": data.colorwheel(),
        "brick": data.brick(),
        "grass": data.grass(),
        "gravel": data.gravel(),
    }


def build(folder: Path) -> tuple[list[Path], list[Path]]:
    """Write the sample set as JPEG/PNG files; returns (photos without text, images with text)."""
    folder.mkdir(parents=True, exist_ok=True)
    plain: list[Path] = []
    for name, array in photos().items():
        path = folder / f"{name}.jpg"
        Image.fromarray(array).convert("RGB").save(path, quality=92)
        plain.append(path)
    # mirrored copies of the colour photos: new pixels, same kind of content
    for name in ("coffee", "chelsea", "astronaut", "china", "flower"):
        mirrored = folder / f"{name}-mirrored.jpg"
        Image.open(folder / f"{name}.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored)
        plain.append(mirrored)
    text: list[Path] = []
    for name, title, subtitle, bg, fg in SIGNS:
        path = folder / f"sign-{name}.png"
        render_sign(title, subtitle, bg, fg).save(path)
        text.append(path)
    return plain, text


# --- the evaluation's dev set: the sample set plus renders that exercise text and charts

EXTRA_SIGNS = [
    ("no-parking", "NO PARKING", "Tow-away zone", (255, 255, 255), (190, 20, 30)),
]


def render_menu() -> Image.Image:
    """A café price board: several OCR lines, and the word "espresso" in text only."""
    image = Image.new("RGB", (800, 1000), (45, 35, 30))
    draw = ImageDraw.Draw(image)
    draw.text((400, 120), "MENU", font=font(110), fill=(245, 235, 215), anchor="mm")
    items = [("Espresso", "2.50"), ("Cappuccino", "3.20"), ("Latte", "3.60"), ("Croissant", "2.80")]
    for i, (item, price) in enumerate(items):
        y = 330 + i * 150
        draw.text((90, y), item, font=font(60), fill=(245, 235, 215), anchor="lm")
        draw.text((710, y), price, font=font(60), fill=(240, 190, 90), anchor="rm")
    return image


def render_charts(folder: Path) -> list[Path]:
    """A bar chart and a line chart, as people keep screenshots of them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
    out = []
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.bar(months, [12, 19, 15, 22, 28, 25], color="#3b6ea8")
    ax.set_title("Monthly sales")
    ax.set_ylabel("units (thousands)")
    out.append(folder / "chart-bars.png")
    fig.savefig(out[-1], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(8, 5))
    days = np.arange(1, 31)
    ax.plot(days, 18 + 6 * np.sin(days / 4.5), color="#c0392b", marker="o")
    ax.set_title("Daily temperature")
    ax.set_xlabel("day")
    ax.set_ylabel("°C")
    ax.grid(alpha=0.3)
    out.append(folder / "chart-line.png")
    fig.savefig(out[-1], dpi=100)
    plt.close(fig)
    return out


def build_devset(folder: Path) -> list[Path]:
    """The evaluation's dev set (app/dev/evaluation/data/devset.toml describes it): the sample set above,
    one more sign, a menu board and two charts."""
    plain, text = build(folder)
    extra: list[Path] = []
    for name, title, subtitle, bg, fg in EXTRA_SIGNS:
        extra.append(folder / f"sign-{name}.png")
        render_sign(title, subtitle, bg, fg).save(extra[-1])
    extra.append(folder / "menu.png")
    render_menu().save(extra[-1])
    return plain + text + extra + render_charts(folder)
