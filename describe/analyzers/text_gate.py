"""Is there text worth the OCR detector's full look? Two cheap looks decide (issue 28).

The full detector (PP-OCRv4's DB network on a 640 px copy) is the most expensive model
run on a photo, and 93 of the 114 dev-set images have no text: it ran on all of them only
to learn that. A gate in front of it must never cost a text the full look finds, so it
is built to say "maybe" easily and "no" only when two different looks agree:

* **the detector at a low side** (384 px): large and medium text lights its probability
  map at once. On the dev sets it misses only text that is small in the frame (the
  railroad crossbuck's letters); at 320 px it also misses both charts, ROUTE 66, EXIT and
  ENTER, at 256 px the festival drum too, so 384 is the lowest side that works.
* **stroke chains** at 800 px, ~8 ms: thin dark-on-light and light-on-dark strokes
  (black-hat and top-hat morphology), kept as components of a letter's size and fill,
  counted where three of similar height sit on a straight line at a letter's spacing:
  the shape of a line of text, at any angle. Fur, grass and gravel also form such
  chains, so alone this would pass half the photos; it exists for the small text the
  low look misses (the crossbuck: 9 chains, the gate passes at 6).

The stroke test runs first, twice: at 400 px (~3 ms), where bold display type's strokes
are thin enough for the kernel, then at 800 px for small type. At 800 px alone, 18 of the
89 images with text on the dev and creative sets (the bench's signs, most ads) failed the
stroke test and paid the detector's low look (~28 ms) before the full one; with the 400 px
look first, 4 do. One more text-free photo of 80 passes to the full look (28 against 27).

Measured on both dev sets (docs/PERFORMANCE.md): all 21 images with text pass and read
the same; 53 of the 93 without text skip the full look (12 more are no larger than the
first look, so their one look is the full one). The two looks cost ~40 ms where the full
look costs ~90. Fine print alone on a large frame is what a gate costs: a line of 10 px
type on a 1024 px page is missed; from 12 px it passes.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

FIRST_LOOK_SIDE = 384
# pixels of the first look's probability map over the detector's own binarisation
# threshold; text on the dev sets lit 245 or more, a lone speck is noise
FIRST_LOOK_PIXELS = 16
# the stroke test's sides, cheapest first: bold display type at 400, small type at 800
STROKE_SIDES = (400, 800)
STROKE_KERNEL = 9  # strokes thinner than this (px at either side) stand out of the background
STROKE_CONTRAST = 40  # grey levels a stroke differs from its surroundings
LETTER_HEIGHT = (5, 70)  # px at 800, in proportion at other sides (at least 3 px)
LETTER_FILL = (0.15, 0.95)  # share of its box a letter's strokes fill
MAX_COMPONENTS = 2500  # a cap on the pairwise work; a frame with more is texture or text
SAME_HEIGHT = 0.25  # neighbours differ in height by at most this share
SPACING = (0.3, 1.5)  # centre distance between neighbours, in letter heights
STRAIGHT = -0.95  # cosine between the two neighbours' directions: opposite, on a line
EVEN = 1.6  # the two distances differ by at most this factor
DEFAULT_MIN_CHAINS = 6


def stroke_chains(image: np.ndarray, side: int = 800) -> int:
    """How many letter-sized components sit in the middle of a straight, evenly spaced
    run of three (dark strokes or light strokes, whichever has more), on a copy `side`
    px long. `image`: BGR, or already grey (the gate converts once for both sides)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = min(1.0, side / max(grey.shape))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (STROKE_KERNEL, STROKE_KERNEL))
    best = 0
    for op in (cv2.MORPH_BLACKHAT, cv2.MORPH_TOPHAT):
        _, strokes = cv2.threshold(
            cv2.morphologyEx(grey, op, kernel), STROKE_CONTRAST, 255, cv2.THRESH_BINARY
        )
        _, _, stats, centres = cv2.connectedComponentsWithStats(strokes, connectivity=8)
        best = max(best, _chains(stats[1:], centres[1:], side))
    return best


def _chains(stats: np.ndarray, centres: np.ndarray, side: int) -> int:
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    box = (w * h).astype(np.float64)
    low, high = max(3, round(LETTER_HEIGHT[0] * side / 800)), round(LETTER_HEIGHT[1] * side / 800)
    letter = (
        (h >= low)
        & (h <= high)
        & (w <= 2 * h)
        & (area >= LETTER_FILL[0] * box)
        & (area <= LETTER_FILL[1] * box)
    )
    at, heights = centres[letter][:MAX_COMPONENTS], h[letter][:MAX_COMPONENTS].astype(np.float64)
    if len(at) < 3:
        return 0
    offsets = at[None, :, :] - at[:, None, :]  # [i, j] = centre j - centre i
    dist = np.linalg.norm(offsets, axis=2)
    taller = np.maximum(heights[:, None], heights[None, :])
    near = (
        (np.abs(heights[:, None] - heights[None, :]) <= SAME_HEIGHT * taller)
        & (dist > SPACING[0] * taller)
        & (dist < SPACING[1] * taller)
    )
    middles = 0
    for i in np.flatnonzero(near.sum(axis=1) >= 2):
        js = np.flatnonzero(near[i])
        directions = offsets[i, js] / dist[i, js, None]
        ratio = dist[i, js][:, None] / dist[i, js][None, :]
        if ((directions @ directions.T < STRAIGHT) & (ratio < EVEN) & (ratio > 1 / EVEN)).any():
            middles += 1
    return middles


def first_look(detector: Any, bgr: np.ndarray, side: int = FIRST_LOOK_SIDE) -> bool:
    """Does RapidOCR's text detector see any text on a copy `side` px long? Its
    probability map alone, without the boxes' post-processing."""
    h, w = bgr.shape[:2]
    scale = side / max(h, w)
    small = cv2.resize(
        bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    prepared = detector.get_preprocess()(small)
    if prepared is None:
        return True  # the detector would refuse it: let the full look decide
    probability = detector.session(prepared)[0, 0]
    return int((probability > detector.postprocess_op.thresh).sum()) >= FIRST_LOOK_PIXELS


def maybe_text(detector: Any, bgr: np.ndarray, min_chains: int = DEFAULT_MIN_CHAINS) -> bool:
    """False only when both looks find no text; an image no larger than the first look
    goes straight to the full one."""
    if max(bgr.shape[:2]) <= FIRST_LOOK_SIDE:
        return True
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return any(stroke_chains(grey, side) >= min_chains for side in STROKE_SIDES) or first_look(detector, bgr)
