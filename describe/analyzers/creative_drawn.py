"""What a flat illustration in a creative shows, from its shapes (issue 27, part 5).

Only balloons so far: two or more filled ellipses in different saturated colours, taller
than wide, away from the text. Measured on the creatives dev set (docs/EVALUATION.md).
Confetti and stars were tried on its renders and left out: counted as small compact
regions of saturated colour, photo texture and gold stars pass as confetti, and stars on a
banner are a pixel or two at this copy's size. Snowflakes, waves, suns and patterns are not
in the set, so nothing says they would be right. The thresholds are data ([drawn] in
describe/data/creative.toml).

The frame is reduced to a few colours (k-means on a small copy), the text's boxes are
masked out, and each colour's connected regions are compared with the ellipse fitted to
their outline."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from describe.facts import TextLine
from describe.knowledge.creative_text import Drawn

SIDE = 256  # the small copy's longer side
COLOURS = 8  # k-means clusters
# the text box's margin masked with it, as a share of its width and height
TEXT_MARGIN = (0.05, 0.3)


def drawn_elements(rgb: np.ndarray, lines: Sequence[TextLine], rules: Drawn) -> tuple[str, ...]:
    """The drawn things found ("balloons"), or ()."""
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 16:
        return ()
    balloons = _balloon_colours(rgb, lines, rules)
    return ("balloons",) if len(balloons) >= rules.balloons_min else ()


def _balloon_colours(rgb: np.ndarray, lines: Sequence[TextLine], rules: Drawn) -> set[int]:
    """The colour clusters that hold at least one balloon-like region."""
    h, w = rgb.shape[:2]
    scale = SIDE / max(h, w)
    small = cv2.resize(
        rgb[..., :3], (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    sh, sw = small.shape[:2]
    keep = np.ones((sh, sw), np.uint8)
    for line in lines:
        x0, y0, x1, y1 = line.box
        mx, my = (x1 - x0) * TEXT_MARGIN[0], (y1 - y0) * TEXT_MARGIN[1]
        keep[
            max(0, int((y0 - my) * sh)) : int((y1 + my) * sh) + 1,
            max(0, int((x0 - mx) * sw)) : int((x1 + mx) * sw) + 1,
        ] = 0
    pixels = small.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)  # the same image gives the same clusters
    start = np.zeros((len(pixels), 1), np.int32)  # unused without KMEANS_USE_INITIAL_LABELS
    _, labels, centres = cv2.kmeans(pixels, COLOURS, start, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = np.asarray(labels).reshape(sh, sw)
    centres = np.asarray(centres)
    hsv = cv2.cvtColor(np.clip(centres, 0, 255).astype(np.uint8)[None], cv2.COLOR_RGB2HSV)[0]
    frame = sh * sw
    found: set[int] = set()
    for k in range(len(centres)):
        if hsv[k, 1] < rules.min_saturation or hsv[k, 2] < rules.min_value:
            continue
        mask = ((labels == k) & (keep > 0)).astype(np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        n, regions, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for i in range(1, n):
            x, y, bw, bh, area = (int(v) for v in stats[i])
            if not rules.min_area * frame <= area <= rules.max_area * frame:
                continue
            if x == 0 or y == 0 or x + bw >= sw or y + bh >= sh:  # cut by the frame: not a whole shape
                continue
            if not rules.min_tall <= bh / max(bw, 1) <= rules.max_tall:
                continue
            if _ellipse_fit(regions == i) >= rules.min_ellipse_iou:
                found.add(k)
                break
    return found


def _ellipse_fit(region: np.ndarray) -> float:
    """How well the ellipse fitted to the region's outline covers it (intersection over union)."""
    region_u8 = region.astype(np.uint8)
    contours, _ = cv2.findContours(region_u8, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return 0.0
    outline = max(contours, key=cv2.contourArea)
    if len(outline) < 5:
        return 0.0
    ellipse = np.zeros_like(region_u8)
    cv2.ellipse(ellipse, cv2.fitEllipse(outline), 1, -1)
    union = int((ellipse | region_u8).sum())
    return int((ellipse & region_u8).sum()) / union if union else 0.0
