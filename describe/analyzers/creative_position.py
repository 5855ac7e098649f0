"""Where a creative's picture sits: left, right, top, bottom or centre (issue 27, the
`layout`'s product position).

The picture is what is left of the frame once the background and the text are taken
away. The background is read row by row from the frame's outer strips (a flat colour or a
vertical gradient both give one colour a row), so a pixel far from its row's background is
foreground. The OCR boxes are masked out with a margin that takes the text's furniture
with them (a button, a price badge, a coupon code's frame). What remains, in regions big
enough to be a picture (confetti and small stars are not), is the picture; its centre of
mass says where it sits.

A photo filling the frame (text over a photo) has no background to subtract: the two
sides of most of its rows differ, and nothing is said. Thresholds are data ([position] in
describe/data/creative.toml); measured on the creatives dev set (docs/EVALUATION.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from describe.facts import TextLine
from describe.knowledge.creative_text import Position

SIDE = 160  # the small copy's longer side
# the columns the background is read from, on each side: in from the frame's edge, where a
# drawn frame may run, and short of where a picture beside the text starts (4% in)
STRIP = (3, 6)
# RGB distance within which two colours are the same background (JPEG noise, a gradient's step)
EDGE_NOISE = 12.0


def picture_position(rgb: np.ndarray, lines: Sequence[TextLine], rules: Position) -> str:
    """Where the picture is (left, right, top, bottom, centre); "" for none, or for a photo
    behind it all."""
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 16:
        return ""
    h, w = rgb.shape[:2]
    scale = SIDE / max(h, w)
    size = (max(16, round(w * scale)), max(16, round(h * scale)))
    small = cv2.resize(rgb[..., :3], size, interpolation=cv2.INTER_AREA).astype(np.float32)
    sh, sw = small.shape[:2]
    background, sides_differ = _background(small)
    if sides_differ > rules.max_sides_differ:
        return ""  # the edges are a photo: text over a photo, no background to take away
    foreground = np.linalg.norm(small - background[:, None], axis=2) > rules.min_difference
    edge = STRIP[0]  # a drawn frame round the whole creative is no picture
    inside = np.zeros_like(foreground)
    inside[edge:-edge, edge:-edge] = True
    foreground &= inside
    for line in lines:  # the text, and the button, badge or frame around it
        x0, y0, x1, y1 = line.box
        line_h = y1 - y0
        reach_x, reach_y = line_h * rules.reach[0] * sh / sw, line_h * rules.reach[1]
        foreground[_span(y0 - reach_y, y1 + reach_y, sh), _span(x0 - reach_x, x1 + reach_x, sw)] = False
    _, labels, stats, _ = cv2.connectedComponentsWithStats(foreground.astype(np.uint8), connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA].astype(float)
    areas[0] = 0.0  # the background's label
    largest = areas.max(initial=0.0)
    keep = (areas >= rules.min_region * sh * sw) & (areas >= rules.min_share_of_largest * largest)
    ys, xs = np.nonzero(keep[labels])
    # its extent, not its pixels: a drawn outline (a stethoscope, a gift's ribbon on a box of
    # the background's colour) is a picture of its size
    if ys.size == 0 or (np.ptp(ys) + 1) * (np.ptp(xs) + 1) < rules.min_picture * sh * sw:
        return ""
    dx, dy = (xs.mean() + 0.5) / sw - 0.5, (ys.mean() + 0.5) / sh - 0.5
    if max(abs(dx), abs(dy)) < rules.centre:
        return "centre"
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "bottom" if dy > 0 else "top"


def _background(small: np.ndarray) -> tuple[np.ndarray, float]:
    """Each row's background colour, and the share of rows whose two sides differ (near 0
    for flat colour or a vertical gradient, most rows for a photo).

    Where the two sides differ (a picture reaching the frame's edge on one side), the side
    nearer the row above's background is the background."""
    sw = small.shape[1]
    left = np.median(small[:, STRIP[0] : STRIP[1]], axis=1)
    right = np.median(small[:, sw - STRIP[1] : sw - STRIP[0]], axis=1)
    agree = np.linalg.norm(left - right, axis=1) <= EDGE_NOISE
    background = (left + right) / 2
    first = background[int(np.argmax(agree))] if agree.any() else left[0]
    for row in np.flatnonzero(~agree):
        previous = background[row - 1] if row else first
        nearer_right = np.linalg.norm(right[row] - previous) < np.linalg.norm(left[row] - previous)
        background[row] = right[row] if nearer_right else left[row]
    return background, float(1.0 - agree.mean())


def _span(start: float, end: float, n: int) -> slice:
    """The pixel indices a normalised span covers in a side of n pixels."""
    return slice(max(0, int(start * n)), max(0, min(n, int(np.ceil(end * n)))))
