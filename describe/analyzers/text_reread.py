"""Display type for the text analyzer (describe/analyzers/text.py; issue 27, part 4):
letter-spaced headlines read as words.

Marketing headlines are set with wide letter-spacing ("B L A C K  F R I D A Y" drawn as
BLACK FRIDAY). Two things go wrong with it:

* the detector cuts a tracked word into several boxes ("CL" "EARANCE"), and each box is
  read on its own, so the line comes back in pieces, or loses a letter or two at a cut;
* the recogniser's space probability rises between every pair of letters, so with the
  reader's low space threshold the word comes back letter by letter ("F R E E"), and where
  it does not, the wider gap between the words is missed ("FLASHDEAL").

`merge_rows` joins the boxes of display-size type that sit on one row close together into
one box, read as one crop. `spaces` places the spaces of display type where a gap between
characters is both wide and the space's probability is among the line's highest: the CTC
frames of a tracked line are evenly spaced within words and further apart between them
(BLACK FRIDAY: gaps 7, 8, 8, 8, **13**, 8, 7, 6, 9, 8 frames; the space's probability
0.03, 0.02, 0.01, 0.02, **0.08**, 0.04, … — over the reader's 0.01 almost everywhere).
Every other line (ordinary text, and display type without letter-spacing, whose spaces
the reader already places right) keeps the reader's spaces.
Measured on rendered display type and both dev sets (docs/EVALUATION.md, "Creatives").
"""

from __future__ import annotations

import numpy as np

# Letter-spaced display type: a line whose characters are at least this many CTC frames
# apart (median) and where the reader would put a space in at least this share of the
# gaps ("F R E E": all of them). Ordinary text runs 2-4 frames a character; untracked
# display type has the reader's spaces only between words ("9 AM - 5 PM": 4 of 6 gaps,
# each at 0.58-0.95, and right as the reader puts them).
MIN_PITCH = 5.0
TRACKED_SHARE = 0.8
MIN_CHARS = 4  # fewer characters give no median to trust
# In tracked type a space goes where the gap is wider than the line's pitch by this much
# and the space's probability is among the line's highest (at least this share of its
# highest): between tracked letters the probability is up everywhere (0.5 in "F R E E").
WIDE_GAP = 1.2
RELATIVE_SPACE = 0.5
# A gap this much wider than a tracked line's pitch is a word gap whatever the space's
# probability, and a space the recogniser is this sure of stays however narrow the gap.
STRONG_GAP = 1.6
SURE_SPACE = 0.9

# Boxes of display type (at least this many pixels high) on one row are one line when the
# gap between them is under MERGE_GAP heights and their heights within MERGE_HEIGHTS.
MIN_DISPLAY_PX = 40
MERGE_GAP = 1.0
MERGE_HEIGHTS = 1.4
# their vertical overlap, as a share of the lower box's height
MERGE_OVERLAP = 0.6


def spaces(frames: np.ndarray, space_probs: np.ndarray, threshold: float) -> np.ndarray:
    """Which gaps between consecutive characters get a space: a bool array of
    len(frames) - 1. `frames`: the CTC frames the characters were read at, ascending;
    `space_probs`: the space's highest probability in each gap; `threshold`: the reader's
    own, which alone decides for ordinary text."""
    said = space_probs >= threshold
    if len(frames) < MIN_CHARS:
        return said
    gaps = np.diff(frames)
    pitch = float(np.median(gaps))
    if pitch < MIN_PITCH or said.mean() < TRACKED_SHARE:
        return said
    likely = said & (space_probs >= RELATIVE_SPACE * space_probs.max()) & (gaps >= WIDE_GAP * pitch)
    return likely | (space_probs >= SURE_SPACE) | (gaps >= STRONG_GAP * pitch)


def merge_rows(quads: list[np.ndarray]) -> list[np.ndarray]:
    """The detector's quads (4×2, clockwise from top-left, full-image pixels) with those
    of display type that sit on one row close together merged into one upright box."""
    boxes = [_box(q) for q in quads]
    order = sorted(range(len(quads)), key=lambda i: (boxes[i][1], boxes[i][0]))
    used = [False] * len(quads)
    out: list[np.ndarray] = []
    for i in order:
        if used[i]:
            continue
        used[i] = True
        group = [i]
        if boxes[i][3] - boxes[i][1] >= MIN_DISPLAY_PX:
            for j in sorted(order, key=lambda k: boxes[k][0]):  # left to right, chaining
                if not used[j] and any(_same_line(boxes[g], boxes[j]) for g in group):
                    used[j] = True
                    group.append(j)
        if len(group) == 1:
            out.append(quads[i])
            continue
        x0 = min(boxes[g][0] for g in group)
        y0 = min(boxes[g][1] for g in group)
        x1 = max(boxes[g][2] for g in group)
        y1 = max(boxes[g][3] for g in group)
        out.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32))
    return out


def _box(quad: np.ndarray) -> tuple[float, float, float, float]:
    xs, ys = quad[:, 0], quad[:, 1]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _same_line(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    ha, hb = a[3] - a[1], b[3] - b[1]
    if min(ha, hb) < MIN_DISPLAY_PX or max(ha, hb) > MERGE_HEIGHTS * min(ha, hb):
        return False
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    gap = max(a[0], b[0]) - min(a[2], b[2])  # negative where they overlap across
    return overlap >= MERGE_OVERLAP * min(ha, hb) and gap <= MERGE_GAP * min(ha, hb)
