"""Perceptual hashes of an image: fingerprints that stay close when the picture is resized,
recompressed, brightened or slightly cropped, and differ between pictures.

The hash is the DCT hash (pHash; Zauner 2010, as `imagehash.phash` computes it): the
picture in grey at 4n×4n, its 2-D DCT-II, the n×n lowest frequencies, each bit whether a
coefficient is above their median. Low frequencies are the picture's layout, which
survives resampling, JPEG (it quantises the high ones) and a change of brightness (it
moves the DC term, and the median with it). Two sizes: n = 8 (64 bits) finds candidates
through catalog/families/hashindex.py, n = 16 (256 bits, the finer layout) confirms them:
unrelated photos sit 128 ± 8 bits apart there, far more standard deviations from a near
copy than at 64 bits (docs/EVALUATION.md).

A global hash moves when the frame moves: a copy cut 5 % at one side lies 11 bits from
its original on average, as far as some unrelated pairs. So each image is hashed five
times: whole, and in four corner windows of 95 % of its width and height. A copy
cropped at any side matches one of its original's windows (or its own window matches the
original, when it is the larger one); the rule in catalog/families/rules.py compares
whole with window, never window with window, which would multiply the chances of a
chance match by five without finding another kind of copy.

Written with numpy and Pillow rather than taken from `imagehash`: that library pulls
SciPy and PyWavelets into the runtime lock (tens of MB) for what is two matrix products
here. OpenCV's `img_hash` needs opencv-contrib, which imgdesc does not ship. The DCT is
scipy.fftpack's unnormalised type II up to a constant factor, which a median ignores, so
the bits are imagehash's (tests/test_catalog_fingerprint.py).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image

from catalog.store.base import Fingerprint

COARSE = 8  # 8×8 = 64 bits: the hash the index searches
FINE = 16  # 16×16 = 256 bits: the confirmation
WINDOW = 0.95  # the corner windows' share of the width and of the height
# The picture is shrunk to this longer side once, before its windows are cut and hashed:
# a hash sees 64×64 pixels at most, and resampling a 12-megapixel original ten times
# costs 100 ms where this costs a few.
_WORKING_SIDE = 128


@cache
def _dct_matrix(n: int) -> np.ndarray:
    """Rows k, columns i: cos(π/n · (i + ½) · k), the DCT-II basis."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return np.cos(np.pi / n * (i + 0.5) * k)


def dct_hash(image: Image.Image, n: int = COARSE) -> str:
    """The n×n-bit DCT hash of a grey or RGB image, as hex (n² / 4 digits)."""
    side = 4 * n
    # LANCZOS as imagehash: its antialiasing is what makes the hash blind to the scale
    pixels = np.asarray(image.convert("L").resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
    basis = _dct_matrix(side)
    low = (basis @ pixels @ basis.T)[:n, :n]
    return np.packbits((low > np.median(low)).ravel()).tobytes().hex()


def windows(image: Image.Image) -> list[Image.Image]:
    """The whole picture, then five windows of WINDOW of its width and height: the middle,
    and the four corners (top left, top right, bottom left, bottom right)."""
    w, h = image.size
    cw, ch = max(1, round(w * WINDOW)), max(1, round(h * WINDOW))
    left, top = (w - cw) // 2, (h - ch) // 2
    boxes = [
        (left, top, left + cw, top + ch),
        (0, 0, cw, ch),
        (w - cw, 0, w, ch),
        (0, h - ch, cw, h),
        (w - cw, h - ch, w, h),
    ]
    return [image, *(image.crop(box) for box in boxes)]


def fingerprint(image: Image.Image) -> Fingerprint:
    """Both hashes of the whole (upright) picture and of its four corner windows."""
    small = image.convert("L")
    if max(small.size) > _WORKING_SIDE:
        small.thumbnail((_WORKING_SIDE, _WORKING_SIDE), Image.Resampling.LANCZOS)
    parts = windows(small)
    return Fingerprint(phash=[dct_hash(p, COARSE) for p in parts], fine=[dct_hash(p, FINE) for p in parts])


def distance(a: str | int, b: str | int) -> int:
    """Hamming distance between two hashes of one size (hex strings or ints)."""
    x = int(a, 16) if isinstance(a, str) else a
    y = int(b, 16) if isinstance(b, str) else b
    return (x ^ y).bit_count()
