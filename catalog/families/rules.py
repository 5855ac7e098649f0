"""When two images belong together: the near-duplicate rule and the variant rule, as pure
functions over what the store keeps. The thresholds were measured on the dev sets
(tools/families_eval.py; docs/EVALUATION.md, "Near-duplicates and more like this").

- **Near-duplicates**: the same picture after resizing, recompression, a small crop or a
  small change of colour. The 64-bit pHash of one image's whole picture lies within
  NEAR_COARSE bits of the other's whole picture or of one of its corner windows (either
  way round), and the 256-bit hashes of that same pair of windows lie within NEAR_FINE.
  The coarse hash finds candidates fast (catalog/families/hashindex.py); the fine one,
  on which unrelated photos lie 128 ± 8 bits apart, keeps chance matches out.
- **Generation variants**: one prompt run with other seeds. Both files carry the same
  generation prompt and each a seed, the seeds differ, and the pictures are visually
  closer than VARIANT_PERCENTILE % of unrelated pairs on the dev sets are (the image
  vector when both have one, else the label distributions, else the descriptions). The
  seed keeps out prompts that travel without one (a caption a photo manager wrote into
  many photos); the closeness keeps out a template prompt reused for other subjects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from catalog.points import prompt_text
from catalog.store.base import DENSE, IMAGE, LABELS, SparseVector, StoredImage

NEAR = "near-duplicate"
VARIANT = "variant"
KINDS = (NEAR, VARIANT)

NEAR_COARSE = 10  # of 64 bits
NEAR_FINE = 80  # of 256 bits
# The cosine above which two pictures count as visually close, per vector, in the order
# they are tried: the 95th percentile of the cosines of unrelated pairs of the dev sets'
# photos (labels 0.82, descriptions 0.61; pairs sharing a main subject: medians 0.87 and
# 0.57). No SigLIP weights were at hand to measure the image vectors: theirs is a guess
# at the same percentile (image-to-image cosines of SigLIP run higher than text-to-image).
VARIANT_PERCENTILE = 95
VARIANT_CLOSE = {IMAGE: 0.8, LABELS: 0.82, DENSE: 0.61}
# bumped when a rule changes, so a catalog's saved groups are worked out again
RULES_VERSION = "1"


def coarse_hashes(payload: StoredImage) -> list[int]:
    """The 64-bit hashes (whole, then the corner windows) as ints; [] without a fingerprint."""
    return [int(h, 16) for h in payload.fingerprint.phash] if payload.fingerprint else []


def fine_hashes(payload: StoredImage) -> list[int]:
    return [int(h, 16) for h in payload.fingerprint.fine] if payload.fingerprint else []


def fine_match(
    a: Sequence[int], a_window: int, b: Sequence[int], b_window: int, limit: int = NEAR_FINE
) -> bool:
    """Whether the 256-bit hashes of window `a_window` of one image and `b_window` of the
    other confirm a coarse match. One of the two windows must be the whole picture."""
    if 0 not in (a_window, b_window) or a_window >= len(a) or b_window >= len(b):
        return False
    return (a[a_window] ^ b[b_window]).bit_count() <= limit


def near_duplicates(a: StoredImage, b: StoredImage, coarse: int = NEAR_COARSE, fine: int = NEAR_FINE) -> bool:
    """The rule on two payloads, every pair of windows tried (the index tries only those
    whose coarse hashes are close; the tests and the evaluation use this)."""
    ca, cb, fa, fb = coarse_hashes(a), coarse_hashes(b), fine_hashes(a), fine_hashes(b)
    pairs = [(0, j) for j in range(len(cb))] + [(i, 0) for i in range(1, len(ca))]
    return any(
        (ca[i] ^ cb[j]).bit_count() <= coarse and fine_match(fa, i, fb, j, fine)
        for i, j in pairs
        if i < len(ca) and j < len(cb)
    )


def prompt_key(payload: StoredImage) -> str:
    """The generation prompt as compared between files (weights and LoRA tags dropped,
    case and spacing folded); "" when the file has no prompt and seed from a generator."""
    seed = payload.provenance.seed if payload.provenance else ""
    prompt = prompt_text(payload)
    return " ".join(prompt.lower().split()) if prompt and seed else ""


def seed(payload: StoredImage) -> str:
    return payload.provenance.seed if payload.provenance else ""


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


def closeness(
    a: Mapping[str, list[float] | SparseVector], b: Mapping[str, list[float] | SparseVector]
) -> float:
    """How close two pictures are by the first vector both hold (IMAGE, LABELS, DENSE),
    as a share of that vector's VARIANT_CLOSE: 1.0 or more is close."""
    for name, threshold in VARIANT_CLOSE.items():
        va, vb = a.get(name), b.get(name)
        if isinstance(va, list) and isinstance(vb, list) and va and vb:
            return cosine(va, vb) / threshold
    return 0.0
