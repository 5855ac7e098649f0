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
