"""Dominant colours: k-means in CIELAB on a small copy, similar shades merged, then named.

Lab is used throughout because distances there follow what people see: two
browns that look alike are close, a dark blue and a black are not. Names come
from a curated table (describe/data/colour_names.json) by nearest CIE94
distance; the basic ``family`` comes from rules on lightness, chroma and hue so
that it stays consistent even where a table name sits near a border.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import cv2
import msgspec
import numpy as np

from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.facts import Colour, ColourFacts, Facts, ObjectFacts
from describe.intake import PreparedImage
from describe.regions import region_shares
from describe.registry import register

NAMES_FILE = Path(__file__).resolve().parent.parent / "data" / "colour_names.json"
SIDE = 128  # palette statistics need no more pixels than this
CLUSTERS = 10  # over-segment first, then merge what looks alike (8 missed a 3% stripe)
# Centres closer than this (CIE94) read as one colour. Swept 8–20 on seven photos: at 8
# a sky stayed "white" + "light gray" and a navy rocket "black" + "navy blue"; at 16 a
# tabby's light and dark brown fur fused; at 20 dark green leaves fused with black.
MERGE_DE = 12.0
ITERATIONS = 12
# Gray conversions of ten photos, PNG or JPEG q40, had no pixel above chroma 8 on the
# small copy; the dullest colour photo (Hubble deep field, mostly black sky) had 4%.
GRAY_CHROMA = 8.0
GRAY_FRACTION = 0.01
# One family must cover this share of a region (a band, a box's centre) to name it;
# a striped shirt or a mixed crowd stays unnamed.
REGION_SHARE = 0.5
# The centre of a box (this fraction of its width and height) is what it is made of;
# the rest is mostly background around the object.
BOX_CENTRE = 0.5
MIN_REGION_PIXELS = 6
# Bright points: a dark frame (mean gray below DARK) whose bright pixels (above BRIGHT)
# are a small share of it in many small spots, as stars are. On 87 photos, stages with
# spotlights (2.5–6% bright), a dark-field cutlery shot (1.9%) and a lit skyline at
# dusk (mean 71) stayed out; a starfield is well inside.
DARK, BRIGHT = 45, 170
MIN_POINTS = 20
MAX_POINT_AREA = 0.0005  # median spot area, as a fraction of the frame
MAX_BRIGHT_SHARE = 0.015


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (…×3) → float Lab with L in 0..100."""
    flat = np.ascontiguousarray(rgb, dtype=np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(*rgb.shape[:-1], 3)


def delta_e94(lab: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """CIE94 (graphic arts) distance from each lab row to each ref row: len(lab)×len(ref)."""
    lab, ref = np.atleast_2d(lab)[:, None, :], np.atleast_2d(ref)[None, :, :]
    dl = lab[..., 0] - ref[..., 0]
    c1 = np.hypot(ref[..., 1], ref[..., 2])
    c2 = np.hypot(lab[..., 1], lab[..., 2])
    dc = c1 - c2
    da, db = lab[..., 1] - ref[..., 1], lab[..., 2] - ref[..., 2]
    dh2 = np.maximum(da**2 + db**2 - dc**2, 0.0)
    return np.sqrt(dl**2 + (dc / (1 + 0.045 * c1)) ** 2 + dh2 / (1 + 0.015 * c1) ** 2)


def family(rgb: np.ndarray) -> str:
    """Basic colour family of one sRGB colour, from rules on CIELAB lightness, chroma and hue.

    Blues, purples and rose reds are split by HSV hue instead (see _blue_to_red).
    """
    lightness, a, b = (float(v) for v in to_lab(np.asarray(rgb, dtype=np.uint8)[None])[0])
    chroma = float(np.hypot(a, b))
    hue = float(np.degrees(np.arctan2(b, a))) % 360
    if chroma < 12 or (lightness < 20 and chroma < 20):
        if lightness < 20:
            return "black"
        return "white" if lightness >= 93 else "gray"
    if hue < 20 or hue >= 195:
        return _blue_to_red(rgb, lightness)
    if 60 <= hue < 115 and lightness >= 80 and chroma < 30:
        return "beige"  # cream, ivory, beige itself: pale, warm, a little yellow
    if hue < 42:  # red; sRGB red is at ~40°
        if lightness >= 72:
            return "pink"
        return "brown" if lightness < 40 and chroma < 40 else "red"
    if hue < 78:  # orange; dark or dull orange is brown, pale orange is beige
        if lightness < 52:
            return "brown"
        if chroma < 35:
            return "beige" if lightness >= 72 else "brown"
        return "orange"
    if hue < 108:  # yellow; dark yellow is olive or brown, dull light yellow is beige
        if lightness < 58:
            return "green" if hue >= 95 else "brown"
        if chroma < 35:
            return "beige" if lightness >= 60 else "brown"
        return "yellow"
    return "green"  # up to turquoise


def _blue_to_red(rgb: np.ndarray, lightness: float) -> str:
    """Blue, purple, pink or red, by HSV hue: Lab puts sRGB blue (306°) beside violet (310°)."""
    pixel = np.asarray(rgb, dtype=np.uint8).reshape(1, 1, 3)
    hsv_hue = float(cv2.cvtColor(pixel, cv2.COLOR_RGB2HSV_FULL)[0, 0, 0]) * 360 / 256
    if hsv_hue < 30 or hsv_hue >= 335:  # rose, raspberry, burgundy
        return "pink" if lightness >= 55 else "red"
    if hsv_hue < 258:  # cyan, sky, navy, royal blue
        return "blue"
    if hsv_hue < 290:  # violet, indigo, lavender
        return "purple"
    return "pink" if lightness >= 44 else "purple"  # magenta to plum: light is pink, dark purple


@cache
def _names() -> tuple[list[str], list[str], np.ndarray]:
    """Table names, each name's family by the same rules, and Lab values."""
    table = json.loads(NAMES_FILE.read_text(encoding="utf-8"))["colours"]
    rgb = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for _, h in table], dtype=np.uint8)
    return [n for n, _ in table], [family(c) for c in rgb], to_lab(rgb)


def colour_name(rgb: np.ndarray, fam: str | None = None) -> str:
    """Nearest table name by CIE94, among names of the same family so name and family agree."""
    names, families, labs = _names()
    fam = fam or family(rgb)
    lab = to_lab(np.asarray(rgb, dtype=np.uint8)[None])
    d = delta_e94(lab, labs)[0]
    same = np.array([f == fam for f in families])
    return names[int(np.where(same, d, d + 1000.0).argmin())]


def kmeans(lab: np.ndarray, weights: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means, k-means++ seeded with a fixed seed so results repeat. Returns centres, labels.
    Vectorised (a running nearest distance while seeding, weighted sums by bincount): the
    same algorithm as a loop over clusters, at a quarter of its cost."""
    rng = np.random.default_rng(0)
    centres = [lab[int(weights.argmax())]]
    nearest = ((lab - centres[0]) ** 2).sum(-1)
    for _ in range(1, k):
        d2 = nearest * weights
        if d2.sum() <= 0:
            break
        centres.append(lab[rng.choice(len(lab), p=d2 / d2.sum())])
        nearest = np.minimum(nearest, ((lab - centres[-1]) ** 2).sum(-1))
    c = np.array(centres)
    labels = np.zeros(len(lab), dtype=np.intp)
    for _ in range(ITERATIONS):
        labels = ((lab[:, None, :] - c[None]) ** 2).sum(-1).argmin(axis=1)
        mass = np.bincount(labels, weights=weights, minlength=len(c))
        sums = np.stack(
            [np.bincount(labels, weights=weights * lab[:, d], minlength=len(c)) for d in range(3)], 1
        )
        # an emptied cluster keeps its centre (merge() drops it by mass)
        new = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-300)[:, None], c)
        if np.allclose(new, c, atol=0.05):
            break
        c = new
    return c, labels


def merge(centres: np.ndarray, mass: np.ndarray) -> list[tuple[np.ndarray, float, list[int]]]:
    """Fuse the closest pair of clusters while closer than MERGE_DE; returns (centre, mass, members)."""
    groups = [(centres[i], float(mass[i]), [i]) for i in range(len(centres)) if mass[i] > 0]
    while len(groups) > 1:
        lab = np.array([g[0] for g in groups])
        d = np.maximum(delta_e94(lab, lab), delta_e94(lab, lab).T)  # CIE94 is asymmetric
        np.fill_diagonal(d, np.inf)
        i, j = np.unravel_index(int(d.argmin()), d.shape)
        if d[i, j] >= MERGE_DE:
            break
        (ci, mi, gi), (cj, mj, gj) = groups[i], groups[j]
        fused = ((ci * mi + cj * mj) / (mi + mj), mi + mj, gi + gj)
        groups = [g for n, g in enumerate(groups) if n not in (i, j)] + [fused]
    return groups


def dominant(families: np.ndarray) -> str:
    """The family covering at least REGION_SHARE of a region's pixels, else ""."""
    if families.size < MIN_REGION_PIXELS:
        return ""
    names, counts = np.unique(families, return_counts=True)
    best = int(counts.argmax())
    return str(names[best]) if counts[best] >= REGION_SHARE * families.size else ""


def box_colours(families: np.ndarray, objects: ObjectFacts | None) -> tuple[str, ...]:
    """Each detection's colour family, from the central part of its box."""
    if not objects:
        return ()
    h, w = families.shape
    out = []
    for obj in objects.objects:
        x0, y0, x1, y1 = obj.box
        mx, my = (x1 - x0) * (1 - BOX_CENTRE) / 2, (y1 - y0) * (1 - BOX_CENTRE) / 2
        rows = slice(round((y0 + my) * h), round((y1 - my) * h))
        cols = slice(round((x0 + mx) * w), round((x1 - mx) * w))
        out.append(dominant(families[rows, cols]))
    return tuple(out)


def bands(families: np.ndarray) -> tuple[str, ...]:
    """Dominant family of the top, middle and bottom thirds: sky over fields, sea under sky."""
    h = families.shape[0]
    return tuple(dominant(families[h * i // 3 : h * (i + 1) // 3]) for i in range(3))


def texture(rgb: np.ndarray) -> float:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return round(float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean()) / 255.0, 4)


def bright_points(rgb: np.ndarray) -> bool:
    """Many small bright spots on a dark frame (full resolution: stars vanish when shrunk)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if float(gray.mean()) >= DARK:
        return False
    mask = (gray > BRIGHT).astype(np.uint8)
    if not 0 < mask.mean() <= MAX_BRIGHT_SHARE:
        return False
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return bool(count - 1 >= MIN_POINTS and np.median(areas) <= MAX_POINT_AREA * gray.size)


class ColourOptions(AnalyzerOptions):
    max_colours: int = 5
    min_coverage: float = 0.05


@register("colours", "colors", "palette")
class ColourAnalyzer(BaseAnalyzer):
    name = "colours"
    Options = ColourOptions
    opts: ColourOptions
    produces = "colours"
    requires = ("objects",)  # for each detection's colour; absent objects leave it empty
    needs_model = False

    def _analyze(self, image: PreparedImage, facts: Facts) -> ColourFacts:
        max_colours, min_coverage = self.opts.max_colours, self.opts.min_coverage
        full = rgb = image.rgb
        scale = min(1.0, SIDE / max(rgb.shape[:2]))
        if scale < 1.0:  # area averaging also smooths sensor noise and JPEG speckle
            size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        pixels = rgb.reshape(-1, 3).astype(np.int64)
        # Cluster 15-bit colour bins weighted by count, each at the exact mean of its
        # pixels: a photo has a few thousand occupied bins, a flat graphic a handful.
        code = (pixels[:, 0] >> 3) << 10 | (pixels[:, 1] >> 3) << 5 | (pixels[:, 2] >> 3)
        counts = np.bincount(code, minlength=1 << 15)
        occupied = np.flatnonzero(counts)
        counts = counts[occupied].astype(np.float64)
        sums = np.stack([np.bincount(code, weights=pixels[:, c], minlength=1 << 15) for c in range(3)], 1)
        unique = sums[occupied] / counts[:, None]
        lab = to_lab(np.round(unique).astype(np.uint8))
        chroma = np.hypot(lab[:, 1], lab[:, 2])
        grayscale = bool(counts[chroma > GRAY_CHROMA].sum() < GRAY_FRACTION * len(pixels))
        centres, labels = kmeans(lab, counts, min(CLUSTERS, len(unique)))
        mass = np.bincount(labels, weights=counts, minlength=len(centres))
        named: dict[str, tuple[float, float, Colour]] = {}  # name → (mass, largest mass, colour)
        for _, m, members in merge(centres, mass):
            inside = np.isin(labels, members)
            # hex from the mean RGB of the members: what the pixels are, no Lab round trip
            mean_rgb = np.round(np.average(unique[inside], axis=0, weights=counts[inside])).astype(np.uint8)
            fam = family(mean_rgb)
            colour = Colour(colour_name(mean_rgb, fam), fam, "#{:02x}{:02x}{:02x}".format(*mean_rgb), 0.0)
            # Two clusters that earn one name are one colour to a reader ("brown, brown" helps nobody).
            total, largest, kept = named.get(colour.name, (0.0, 0.0, colour))
            named[colour.name] = (total + m, max(largest, m), colour if m > largest else kept)
        palette = [
            msgspec.structs.replace(colour, coverage=round(m / len(pixels), 4))
            for m, _, colour in sorted(named.values(), key=lambda v: -v[0])
            if m / len(pixels) >= min_coverage
        ]
        # every pixel's colour family, through its bin's cluster: regions and boxes use
        # the same families as the palette
        cluster_family = [
            family(
                np.round(np.average(unique[labels == j], axis=0, weights=counts[labels == j])).astype(
                    np.uint8
                )
            )
            if (labels == j).any()
            else ""
            for j in range(len(centres))
        ]
        families = np.array(cluster_family)[labels[np.searchsorted(occupied, code)]].reshape(rgb.shape[:2])
        return ColourFacts(
            palette=tuple(palette[:max_colours]),
            grayscale=grayscale,
            # in a black-and-white photo every shirt is gray: say nothing rather than that
            object_colours=box_colours(
                families if not grayscale else np.full_like(families, ""), facts.objects
            ),
            bands=bands(families),
            texture=texture(rgb),
            bright_points=bright_points(full),
            regions=region_shares(full),
        )
