"""Render the creatives dev set: social posts, stories, web banners, posters, flyers, menus,
coupons and job ads, with known text, kind and format (issue 27).

    .venv/bin/python eval/creatives/build.py [OUT_DIR]      # default eval-results/creatives/images

Writes the images to OUT_DIR and, beside this script, `references.toml` (tags and queries in
the shape of ../shared/devset/references.toml, for `imgdesc eval`) and `truth.toml` (kind,
format, and the CTA, price and coupon texts each creative shows, for score.py). The images are
rebuilt, never committed.

Pictures come only from what the dev sets already hold, read where they lie: the photos and
cut-outs in ../shared/devset/images (SHARED_DEVSET to point elsewhere), the scikit-image,
scikit-learn and matplotlib samples, and shapes drawn here. Fonts: DejaVu (fonts-dejavu-core)
and Liberation (fonts-liberation), as the shared set's rendered images use.
"""

from __future__ import annotations

import math
import os
import random
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED = Path(os.environ.get("SHARED_DEVSET", ROOT.parent / "shared" / "devset")) / "images"
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))

# format → size in pixels (the common sizes, scaled to ≤ 1456 px on the long side)
SIZES = {
    "square": (1000, 1000),  # 1:1 feed post
    "portrait": (864, 1080),  # 4:5 feed post
    "story": (720, 1280),  # 9:16 story / reel cover
    "landscape": (1200, 628),  # 1.91:1 link / feed image
    "banner": (1200, 300),  # 4:1 web banner / email header
    "leaderboard": (1456, 180),  # 728×90 leaderboard at 2×
    "a-portrait": (848, 1200),  # A-series poster, flyer, menu
    "a-landscape": (1200, 848),
}
BOLD = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "DejaVuSerif-Bold.ttf")
REGULAR = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "DejaVuSerif.ttf", "LiberationSerif-Regular.ttf")


# the DejaVu face nearest each Liberation one, for a machine without fonts-liberation
FALLBACK = {
    "LiberationSerif-Bold.ttf": "DejaVuSerif-Bold.ttf",
    "LiberationSans-Bold.ttf": "DejaVuSans-Bold.ttf",
}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size)
    if name in FALLBACK:
        print(f"{name} not found (fonts-liberation): {FALLBACK[name]} instead", file=sys.stderr)
        return font(FALLBACK[name], size)
    raise SystemExit(
        f"font {name} not found in {', '.join(map(str, FONT_DIRS))} (fonts-dejavu-core, fonts-liberation)"
    )


# ------------------------------------------------------------------ pictures
def picture(source: str) -> Image.Image:
    """RGBA: a photo, or a cut-out whose white backdrop is made transparent."""
    kind, _, name = source.partition(":")
    if kind == "shared":
        img = Image.open(SHARED / name).convert("RGB")
        if img.getpixel((1, 1)) == (255, 255, 255):  # a tuxpaint cut-out on white
            return _cut_out(img)
        return img.convert("RGBA")
    if kind == "skimage":
        import skimage.data

        return Image.fromarray(getattr(skimage.data, name)()).convert("RGBA")
    if kind == "sklearn":
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(name)).convert("RGBA")
    if kind == "mpl":
        from matplotlib import cbook

        return Image.open(cbook.get_sample_data(name, asfileobj=False)).convert("RGBA")
    if kind == "draw":
        return DRAWN[name]()
    raise ValueError(source)


def _cut_out(img: Image.Image) -> Image.Image:
    arr = np.asarray(img).astype(int)
    alpha = np.where(arr.min(axis=2) > 242, 0, 255).astype(np.uint8)
    out = img.convert("RGBA")
    out.putalpha(Image.fromarray(alpha).filter(ImageFilter.MinFilter(3)))
    return out


def _canvas(w: int = 600, h: int = 600) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def draw_sneaker() -> Image.Image:
    img, d = _canvas(700, 400)
    d.polygon(
        [(40, 300), (60, 140), (200, 120), (300, 200), (560, 240), (660, 300), (660, 340), (40, 340)],
        fill=(140, 200, 240),
    )
    d.rectangle([40, 330, 660, 370], fill=(250, 250, 250), outline=(60, 60, 60), width=4)
    for i in range(5):
        d.line([(150 + i * 30, 150 + i * 10), (190 + i * 30, 190 + i * 10)], fill=(255, 255, 255), width=8)
    d.arc([380, 200, 560, 330], 200, 320, fill=(40, 90, 160), width=10)
    return img


def draw_pizza() -> Image.Image:
    img, d = _canvas()
    d.ellipse([40, 40, 560, 560], fill=(220, 160, 70))
    d.ellipse([75, 75, 525, 525], fill=(230, 90, 50))
    for x, y in [(200, 180), (380, 210), (260, 360), (400, 400), (170, 330), (330, 270)]:
        d.ellipse([x - 35, y - 35, x + 35, y + 35], fill=(170, 30, 30))
    for a in range(0, 360, 60):
        d.line(
            [(300, 300), (300 + 260 * math.cos(math.radians(a)), 300 + 260 * math.sin(math.radians(a)))],
            fill=(200, 140, 60),
            width=5,
        )
    return img


def draw_gift() -> Image.Image:
    img, d = _canvas()
    d.rectangle([100, 220, 500, 540], fill=(200, 40, 60))
    d.rectangle([80, 170, 520, 240], fill=(220, 60, 80))
    d.rectangle([275, 170, 325, 540], fill=(250, 210, 70))
    d.ellipse([180, 80, 300, 180], outline=(250, 210, 70), width=22)
    d.ellipse([300, 80, 420, 180], outline=(250, 210, 70), width=22)
    return img


def draw_laptop() -> Image.Image:
    img, d = _canvas(700, 480)
    d.rounded_rectangle([120, 40, 580, 350], 20, fill=(50, 55, 65))
    d.rectangle([145, 65, 555, 325], fill=(90, 170, 230))
    d.polygon([(60, 370), (640, 370), (680, 420), (20, 420)], fill=(180, 185, 195))
    return img


def draw_house() -> Image.Image:
    img, d = _canvas()
    d.polygon([(300, 60), (560, 280), (40, 280)], fill=(170, 60, 50))
    d.rectangle([100, 280, 500, 540], fill=(240, 220, 180))
    d.rectangle([250, 380, 350, 540], fill=(110, 70, 40))
    d.rectangle([140, 320, 220, 400], fill=(120, 180, 230))
    d.rectangle([380, 320, 460, 400], fill=(120, 180, 230))
    return img


def draw_cup() -> Image.Image:
    img, d = _canvas()
    d.polygon([(150, 200), (450, 200), (410, 520), (190, 520)], fill=(250, 250, 245))
    d.ellipse([420, 260, 540, 400], outline=(250, 250, 245), width=24)
    d.rectangle([150, 280, 450, 360], fill=(150, 95, 60))
    for x in (240, 300, 360):
        d.arc([x - 30, 60, x + 30, 180], 100, 260, fill=(200, 200, 200), width=8)
    return img


def draw_guitar() -> Image.Image:
    img, d = _canvas(400, 700)
    d.ellipse([60, 380, 340, 660], fill=(200, 110, 40))
    d.ellipse([90, 250, 310, 460], fill=(200, 110, 40))
    d.ellipse([170, 440, 230, 500], fill=(60, 30, 10))
    d.rectangle([185, 20, 215, 450], fill=(90, 50, 20))
    return img


def draw_balloons() -> Image.Image:
    img, d = _canvas()
    for (x, y), c in zip(
        [(180, 180), (320, 140), (430, 230)], [(230, 60, 80), (60, 140, 230), (250, 200, 40)], strict=True
    ):
        d.ellipse([x - 80, y - 100, x + 80, y + 100], fill=c)
        d.line([(x, y + 100), (300, 560)], fill=(90, 90, 90), width=4)
    return img


DRAWN = {"sneaker": draw_sneaker, "pizza": draw_pizza, "gift": draw_gift, "laptop": draw_laptop,
         "house": draw_house, "cup": draw_cup, "guitar": draw_guitar, "balloons": draw_balloons}  # fmt: skip


def decorate(img: Image.Image, deco: str, seed: str) -> None:
    """Drawn elements over the background, under the picture and the text: "confetti"
    (small rotated pieces in four colours) or "stars" (five-pointed, gold)."""
    d = ImageDraw.Draw(img)
    rng = random.Random(seed)
    w, h = img.size
    short = min(w, h)
    if deco == "confetti":
        colours = [(240, 60, 90), (40, 170, 230), (90, 200, 90), (150, 80, 210), (255, 150, 30)]
        for _ in range(60):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            a, b = short * rng.uniform(0.012, 0.02), short * rng.uniform(0.006, 0.01)
            t = rng.uniform(0, math.pi)
            corners = [(-a, -b), (a, -b), (a, b), (-a, b)]
            d.polygon(
                [
                    (cx + x * math.cos(t) - y * math.sin(t), cy + x * math.sin(t) + y * math.cos(t))
                    for x, y in corners
                ],
                fill=rng.choice(colours),
            )
    elif deco == "stars":
        for _ in range(9):
            cx, cy, r = (
                rng.uniform(0.05, 0.95) * w,
                rng.uniform(0.05, 0.95) * h,
                short * rng.uniform(0.025, 0.045),
            )
            t0 = rng.uniform(0, 2 * math.pi)
            points = [
                (cx + (r if i % 2 == 0 else r * 0.4) * math.cos(t0 + i * math.pi / 5),
                 cy + (r if i % 2 == 0 else r * 0.4) * math.sin(t0 + i * math.pi / 5))
                for i in range(10)
            ]  # fmt: skip
            d.polygon(points, fill=(250, 205, 60))


# ------------------------------------------------------------------ layout
def background(size: tuple[int, int], bg: str | tuple) -> Image.Image:
    w, h = size
    if isinstance(bg, tuple) and len(bg) == 2:  # a vertical gradient between two colours
        top, bottom = np.array(bg[0], float), np.array(bg[1], float)
        t = np.linspace(0, 1, h)[:, None, None]
        arr = (top * (1 - t) + bottom * t).repeat(w, axis=1)
        return Image.fromarray(arr.astype(np.uint8), "RGB")
    if isinstance(bg, str):  # a photo filling the frame, darkened for the text
        photo = picture(bg).convert("RGB")
        scale = max(w / photo.width, h / photo.height)
        photo = photo.resize((math.ceil(photo.width * scale), math.ceil(photo.height * scale)))
        left, top = (photo.width - w) // 2, (photo.height - h) // 2
        photo = photo.crop((left, top, left + w, top + h))
        return Image.blend(photo, Image.new("RGB", size, (0, 0, 0)), 0.45)
    return Image.new("RGB", size, bg)


def paste_fit(canvas: Image.Image, pic: Image.Image, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    scale = min((x1 - x0) / pic.width, (y1 - y0) / pic.height)
    pic = pic.resize((max(1, int(pic.width * scale)), max(1, int(pic.height * scale))))
    canvas.paste(pic, (x0 + (x1 - x0 - pic.width) // 2, y0 + (y1 - y0 - pic.height) // 2), pic)


# role → (share of the text column's height for one line's type size, bold)
ROLE_SIZE = {"head": (0.16, True), "sub": (0.075, False), "body": (0.055, False), "price": (0.11, True),
             "disc": (0.12, True), "code": (0.07, True), "cta": (0.07, True), "event": (0.065, False),
             "brand": (0.06, True), "fine": (0.04, False), "item": (0.055, False)}  # fmt: skip


# layout → where the picture's box is (render() below)
PICTURE_AT = {
    "left": "right",
    "right": "left",
    "top": "bottom",
    "bottom": "top",
    "centre": "centre",
    "over": "",
}


def render(spec: dict) -> Image.Image:
    size = SIZES[spec["format"]]
    w, h = size
    img = background(size, spec["bg"])
    if spec.get("deco"):
        decorate(img, spec["deco"], spec["name"])
    d = ImageDraw.Draw(img)
    ink = spec.get("ink", (255, 255, 255) if isinstance(spec["bg"], str) else (25, 25, 25))
    accent = spec.get("accent", (230, 50, 40))
    layout = spec.get("layout", "left")
    # the text column and the picture's box
    if spec.get("pic") is None or layout == "over":
        col, pic_box = (int(w * 0.06), int(h * 0.06), int(w * 0.94), int(h * 0.94)), None
    elif layout == "left":
        col, pic_box = (
            (int(w * 0.05), int(h * 0.08), int(w * 0.55), int(h * 0.92)),
            (int(w * 0.56), int(h * 0.08), int(w * 0.96), int(h * 0.92)),
        )
    elif layout == "right":
        col, pic_box = (
            (int(w * 0.45), int(h * 0.08), int(w * 0.95), int(h * 0.92)),
            (int(w * 0.04), int(h * 0.08), int(w * 0.44), int(h * 0.92)),
        )
    elif layout == "bottom":  # text below, picture above
        col, pic_box = (
            (int(w * 0.06), int(h * 0.45), int(w * 0.94), int(h * 0.95)),
            (int(w * 0.1), int(h * 0.05), int(w * 0.9), int(h * 0.43)),
        )
    elif layout == "centre":  # the first `above` lines above the picture, the rest below it
        col, pic_box = (
            (int(w * 0.06), int(h * 0.65), int(w * 0.94), int(h * 0.97)),
            (int(w * 0.15), int(h * 0.27), int(w * 0.85), int(h * 0.63)),
        )
    else:  # "top": text above, picture below
        col, pic_box = (
            (int(w * 0.06), int(h * 0.05), int(w * 0.94), int(h * 0.55)),
            (int(w * 0.1), int(h * 0.57), int(w * 0.9), int(h * 0.95)),
        )
    if pic_box is not None:
        paste_fit(img, picture(spec["pic"]), pic_box)
    lines = spec["lines"]
    # the type scales with the text column, or with a wide banner's height
    unit = {"banner": h * 1.5, "leaderboard": h * 2.0}.get(
        spec["format"],
        h * 0.7 if layout == "centre" else (col[3] - col[1]) * (1.4 if layout in ("top", "bottom") else 1.0),
    )
    centred = spec.get(
        "align", "centre" if pic_box is None or layout in ("top", "bottom", "centre") else "left"
    )
    columns = [(lines, col)]
    if layout == "centre":
        above = spec.get("above", 1)
        columns = [(lines[:above], (col[0], int(h * 0.03), col[2], int(h * 0.25))), (lines[above:], col)]
    for column_lines, box in columns:
        _draw_column(d, spec, column_lines, box, unit, centred == "centre", ink, accent)
    if spec.get("border"):
        d.rectangle([8, 8, w - 9, h - 9], outline=spec["border"], width=10)
    return img


def _draw_column(
    d: ImageDraw.ImageDraw,
    spec: dict,
    lines: list,
    col: tuple[int, int, int, int],
    unit: float,
    centred: bool,
    ink: tuple,
    accent: tuple,
) -> None:
    """The lines, each at its role's size and look, centred in the column's height."""
    x0, y0, x1, y1 = col
    sizes = []
    for role, text in lines:
        share, bold = ROLE_SIZE[role]
        fnt = font(
            spec.get("font", BOLD[0]) if bold else spec.get("body_font", REGULAR[0]),
            max(12, int(unit * share)),
        )
        while d.textlength(text, font=fnt) > (x1 - x0) * (0.8 if role == "cta" else 1.0) and fnt.size > 12:
            fnt = font(fnt.path.rsplit("/", 1)[1], int(fnt.size * 0.92))
        sizes.append(fnt)
    gap = [int(f.size * (0.9 if r == "cta" else 0.45)) for (r, _), f in zip(lines, sizes, strict=True)]
    total = sum(f.size for f in sizes) + sum(gap) + (sizes[-1].size if lines[-1][0] == "cta" else 0)
    y = y0 + max(0, ((y1 - y0) - total) // 2)
    for (role, text), fnt in zip(lines, sizes, strict=True):
        tw = d.textlength(text, font=fnt)
        x = x0 + ((x1 - x0) - tw) / 2 if centred else x0
        if role == "cta":  # a filled, rounded button
            pad = fnt.size * 0.6
            d.rounded_rectangle(
                [x - pad, y - pad * 0.6, x + tw + pad, y + fnt.size * 1.15 + pad * 0.6],
                radius=int(fnt.size * 0.6),
                fill=spec.get("button", accent),
            )
            d.text((x, y), text, font=fnt, fill=spec.get("button_ink", (255, 255, 255)))
            y += int(fnt.size * 0.6)
        elif role == "disc" and spec.get("badge"):  # a round discount badge
            r = max(tw, fnt.size) * 0.7
            cx, cy = x + tw / 2, y + fnt.size / 2
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=accent)
            d.text((x, y), text, font=fnt, fill=(255, 255, 255))
        elif role == "code":  # a dashed coupon-code box
            d.rectangle([x - 12, y - 8, x + tw + 12, y + fnt.size * 1.2 + 8], outline=ink, width=3)
            d.text((x, y), text, font=fnt, fill=ink)
        else:
            fill = accent if role in ("price", "disc") else ink
            d.text((x, y), text, font=fnt, fill=fill)
        y += fnt.size + int(fnt.size * (0.9 if role == "cta" else 0.45))


# ------------------------------------------------------------------ the set
def _specs() -> list[dict]:
    from specs import SPECS  # beside this script

    return SPECS


def _toml_list(items) -> str:
    def one(x):
        if isinstance(x, (list, tuple)):
            return "[" + ", ".join(one(i) for i in x) + "]"
        return '"' + str(x).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return one(items)


def write_references(specs: list[dict]) -> None:
    out = ["# Generated by build.py: the creatives dev set's references (tags, queries), in the",
           "# shape of ../shared/devset/references.toml. Edit specs.py, not this file.", ""]  # fmt: skip
    for s in specs:
        out.append(f'[images."{s["name"]}.jpg"]')
        out.append(f"tags = {_toml_list(s['tags'])}")
        if s.get("acceptable"):
            out.append(f"acceptable = {_toml_list(s['acceptable'])}")
        out.append("")
    for s in specs:
        for q in s.get("queries", ()):
            text, *also = q if isinstance(q, tuple) else (q,)
            out += [
                "[[queries]]",
                f"text = {_toml_list(text)}",
                f"relevant = {_toml_list([s['name'] + '.jpg', *(a + '.jpg' for a in also)])}",
                "",
            ]
    (HERE / "references.toml").write_text("\n".join(out))
    truth = ["# Generated by build.py: what each creative is and shows, for score.py.", ""]
    for s in specs:
        parts = {r: [t for role, t in s["lines"] if role == r] for r in ("cta", "price", "code")}
        codes = s.get("coupons", [c.split()[-1] for c in parts["code"]])
        truth += [
            f'[images."{s["name"]}.jpg"]',
            f'kind = "{s["kind"]}"',
            f'format = "{s["format"]}"',
            f"cta = {_toml_list(parts['cta'])}",
            f"prices = {_toml_list(s.get('prices', parts['price']))}",
            f"coupons = {_toml_list(codes)}",
            f"languages = {_toml_list(s.get('languages', ['en']))}",
            f"drawn = {_toml_list(s.get('drawn', []))}",
            f'product_position = "{picture_at(s)}"',
            "",
        ]
    (HERE / "truth.toml").write_text("\n".join(truth))


def picture_at(spec: dict) -> str:
    """Where render() puts the picture: the side opposite the text, "" with none or with
    text over a photo filling the frame."""
    if spec.get("pic") is None:
        return ""
    return PICTURE_AT[spec.get("layout", "left")]


def main(out: Path) -> None:
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED}: not found (set SHARED_DEVSET to the shared dev set's folder)")
    out.mkdir(parents=True, exist_ok=True)
    specs = _specs()
    for s in specs:
        render(s).save(out / f"{s['name']}.jpg", quality=90)
    write_references(specs)
    print(f"{len(specs)} creatives in {out}; references.toml and truth.toml in {HERE}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "eval-results" / "creatives" / "images")
