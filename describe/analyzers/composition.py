"""Composition: shape, exposure, sharpness, framing of the main subject, background, text.

All pixel statistics are taken on a copy whose longest side is ``SIDE``, so a
1024 px upload and its 4000 px original give the same numbers. Objects and
text facts are used when present; without them the fields that need them
stay None / False.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.analyzers.colours import to_lab
from describe.facts import CompositionFacts, DetectedObject, Facts, ObjectFacts, TextFacts
from describe.intake import PreparedImage
from describe.registry import register

SIDE = 512
SQUARE_TOLERANCE = 0.05  # 1024×980 is square to anyone looking at it
# Sharpness is the Laplacian variance of the sharpest tiles (95th percentile of an 8×8
# grid) of the 512 px gray copy, so a sharp subject on a plain or defocused background
# still reads sharp (whole-image variance put a crisp product shot on white below
# blurred photos). 17 photos at native resolution and 3 synthetic product shots scored
# 132 (a red box on black) to 13000; blurred with σ = 2 px (at 512 px) 3–41, with
# σ = 1 px 15–910. 75 sits between sharp and σ = 2 with margin on both sides.
BLUR_THRESHOLD = 75.0
TILES = 8
# Mean luminance: the Hubble deep field is 0.08, a flower on black 0.26, daylight 0.45–0.65.
LIGHTING = ((0.15, "dark"), (0.33, "dim"), (0.7, "balanced"))
# The main object's box covers this much of the frame in a close-up. At 0.45, 12 of the 13
# dev-set photos with a box of 0.45-0.6 were whole vehicles, animals and products that the
# references never call close-ups (a bus on white, a pony before mountains); the
# close-ups people named (a cat's face, a portrait, a multimeter) cover 0.68 and more.
CLOSE_UP = 0.6
SMALL = 0.1  # every object smaller than this: a scene rather than a subject
BORDER = 0.08  # the strip along each edge that stands for the background
PLAIN_DELTA_E = 10.0  # CIE76 from the border's median colour
# Share of border pixels that must be that close: product shots on white, gray or black
# scored 1.0 (0.86 with the product touching an edge); 14 photos 0.03–0.64 (a starfield
# and a close-up of the moon's surface, 0.94 and 0.99, are plain too).
PLAIN_SHARE = 0.8
# A one-line 72 px banner covers ~0.15, a page 0.6; a photo with a sale caption along
# the bottom ~0.08 and a name tag on a uniform 0.003 are photos with some text.
TEXT_COVERAGE = 0.1
TEXT_LINES = 8

_GRID = {
    (1, 1): "centre",
    (0, 1): "left third",
    (2, 1): "right third",
    (1, 0): "top",
    (1, 2): "bottom",
    (0, 0): "upper left",
    (2, 0): "upper right",
    (0, 2): "lower left",
    (2, 2): "lower right",
}


def orientation(width: int, height: int) -> str:
    ratio = width / height
    if abs(ratio - 1.0) <= SQUARE_TOLERANCE:
        return "square"
    return "landscape" if ratio > 1 else "portrait"


def lighting(brightness: float) -> str:
    return next((name for limit, name in LIGHTING if brightness < limit), "bright")


def main_object(objects: ObjectFacts | None) -> DetectedObject | None:
    """The largest box weighted by confidence: a sure big subject beats a doubtful bigger one."""
    if not objects or not objects.objects:
        return None
    return max(objects.objects, key=lambda o: _area(o.box) * o.score)


def position(box: tuple[float, float, float, float]) -> str:
    """Where a box's centre falls on the rule-of-thirds grid."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    cell = (min(int(cx * 3), 2), min(int(cy * 3), 2))
    return _GRID[cell]


def shot(objects: ObjectFacts | None, orient: str, plain: bool = False, texty: bool = False) -> str | None:
    if objects is None or texty:
        return None  # the detector did not run, or a banner/document: framing terms don't apply
    main = main_object(objects)
    if main is None:
        # an empty plain frame is a graphic, not a wide view of a scene
        return "wide" if orient == "landscape" and not plain else None
    if _area(main.box) >= CLOSE_UP:
        return "close-up"
    if orient == "landscape" and max(_area(o.box) for o in objects.objects) < SMALL:
        return "wide"
    return "medium"


def plain_background(rgb: np.ndarray) -> bool:
    """True when nearly all of a border strip is one colour: a product shot on white or a studio wall."""
    h, w = rgb.shape[:2]
    bh, bw = max(1, round(h * BORDER)), max(1, round(w * BORDER))
    strips = [rgb[:bh].reshape(-1, 3), rgb[-bh:].reshape(-1, 3)]
    strips += [rgb[bh:-bh, :bw].reshape(-1, 3), rgb[bh:-bh, -bw:].reshape(-1, 3)]
    lab = to_lab(np.concatenate(strips))
    distance = np.linalg.norm(lab - np.median(lab, axis=0), axis=1)
    return bool(np.mean(distance < PLAIN_DELTA_E) >= PLAIN_SHARE)


def sharpness(gray: np.ndarray) -> float:
    """Laplacian variance in the sharpest tiles (95th percentile over a TILES×TILES grid)."""
    lap = cv2.Laplacian(gray, cv2.CV_64F)
    th, tw = max(1, lap.shape[0] // TILES), max(1, lap.shape[1] // TILES)
    rows, cols = lap.shape[0] // th, lap.shape[1] // tw
    tiles = lap[: rows * th, : cols * tw].reshape(rows, th, cols, tw).var(axis=(1, 3))
    return float(np.percentile(tiles, 95))


def text_heavy(text: TextFacts | None) -> bool:
    return bool(text and (text.coverage >= TEXT_COVERAGE or len(text.lines) >= TEXT_LINES))


def _area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


class CompositionOptions(AnalyzerOptions):
    blur_threshold: float = BLUR_THRESHOLD


@register("composition")
class CompositionAnalyzer(BaseAnalyzer):
    name = "composition"
    Options = CompositionOptions
    opts: CompositionOptions
    produces = "composition"
    requires = ("objects", "text")
    needs_model = False

    def _analyze(self, image: PreparedImage, facts: Facts) -> CompositionFacts:
        scale = SIDE / max(image.width, image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # Pillow's Lanczos filters properly at any ratio: the same scene at 600, 800 or 1024 px
        # gave sharpness within 10%; OpenCV's INTER_AREA lost up to half at non-integer ratios.
        small = np.asarray(image.image.resize(size, Image.Resampling.LANCZOS))
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        sharp = sharpness(gray)
        brightness = float(gray.mean()) / 255.0
        saturation = float(cv2.cvtColor(small, cv2.COLOR_RGB2HSV)[:, :, 1].mean()) / 255.0
        objects: ObjectFacts | None = facts.objects
        main = main_object(objects)
        orient = orientation(image.width, image.height)
        tiny = cv2.resize(small, (max(1, size[0] // 4), max(1, size[1] // 4)), interpolation=cv2.INTER_AREA)
        plain = plain_background(tiny)
        texty = text_heavy(facts.text)
        return CompositionFacts(
            orientation=orient,
            aspect_ratio=round(image.width / image.height, 3),
            brightness=round(brightness, 4),
            # the largest std a 0..255 image can have is 127.5 (half black, half white)
            contrast=round(min(1.0, float(gray.std()) / 127.5), 4),
            saturation=round(saturation, 4),
            sharpness=round(sharp, 2),
            blurry=sharp < self.opts.blur_threshold,
            lighting=lighting(brightness),
            subject_position=position(main.box) if main else None,
            shot=shot(objects, orient, plain, texty),
            plain_background=plain,
            text_heavy=texty,
        )
