"""More like this: the images nearest to a stored one, from what the store keeps of it.

- With a SigLIP 2 image vector (the tagger active when it was described), the pictures
  themselves: the cosine of the image vectors.
- Without one, three views fused: the label distribution (what the classifier thought it
  might be, as one vector; catalog/points.py), the description vector, and a colour
  signature (how much of each colour family the palette covers, compared by histogram
  intersection). The description alone, the naive choice, ranks by wording: two photos
  of one subject described in other words fall apart, and two described alike but
  looking nothing alike come together. docs/EVALUATION.md has both on the dev sets.
- Either way, the perceptual hash lifts near copies: the image's near-duplicates
  (catalog/families/) come first, closest hash first, and a hash within HASH_SPAN bits
  of the image's adds to the score of any candidate.

The image itself is never among the hits, nor are images hidden from search.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import msgspec

from catalog.families.groups import Families
from catalog.families.rules import coarse_hashes
from catalog.store.base import DENSE, IMAGE, LABELS, Hit, SparseVector, Store, StoredImage
from search.service import MAX_LIMIT, MIN_CANDIDATES, SearchHit, _to_hit


class SimilarWeights(msgspec.Struct, frozen=True):
    """How much each signal counts when there is no image vector. Chosen on the dev sets
    (tools/families_eval.py): labels and description equal, colour and hash as tie-breakers."""

    labels: float = 1.0
    dense: float = 1.0
    colour: float = 0.3
    hash: float = 0.5  # × (1 − distance / HASH_SPAN) for the whole pictures' 64-bit hashes
    image: float = 1.0  # the image vectors' cosine, when both images hold one


HASH_SPAN = 24  # bits: unrelated pictures lie 32 ± 4 apart, so this adds nothing to them
NEAR_FIRST = 10.0  # added to a near-duplicate's score: above anything the views give


def colour_signature(payload: StoredImage) -> dict[str, float]:
    """Coverage per colour family of the picture's palette."""
    found: dict[str, float] = {}
    for colour in payload.colors:
        found[colour.family] = found.get(colour.family, 0.0) + colour.coverage
    return found


def colour_similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Histogram intersection of two colour signatures: 1.0 when they cover alike."""
    return sum(min(share, b.get(family, 0.0)) for family, share in a.items())


def hash_closeness(a: StoredImage, b: StoredImage) -> float:
    """1.0 for identical whole-picture hashes, falling to 0 at HASH_SPAN bits apart."""
    ha, hb = coarse_hashes(a), coarse_hashes(b)
    if not ha or not hb:
        return 0.0
    return max(0.0, 1.0 - (ha[0] ^ hb[0]).bit_count() / HASH_SPAN)


class SimilarImages:
    def __init__(
        self,
        store: Store,
        families: Families | None = None,
        hidden: Callable[[], Collection[str]] = frozenset,
        weights: SimilarWeights | None = None,
    ) -> None:
        self.store = store
        self.families = families
        self.hidden = hidden
        self.weights = weights or SimilarWeights()

    def similar(self, image_id: str, limit: int = 20) -> list[SearchHit]:
        """The `limit` images most like `image_id` (a stored id), best first; [] for an
        unknown id."""
        ranked = self.rank(image_id, max(1, min(limit, MAX_LIMIT)))
        payloads = self.store.get_many([pid for pid, _ in ranked])
        return [_to_hit(Hit(pid, score, payloads[pid])) for pid, score in ranked if pid in payloads]

    def rank(self, image_id: str, limit: int) -> list[tuple[str, float]]:
        """(id, score) of the best `limit` others, best first."""
        payload = self.store.get(image_id)
        if payload is None:
            return []
        vectors = self.store.vectors(image_id)
        n = max(MIN_CANDIDATES, 4 * limit)
        near = self.families.near_ids(image_id) if self.families is not None else []
        scores = self._views(vectors, n)
        candidates = set(scores) | set(near)
        payloads = self.store.get_many(list(candidates))
        w, colours = self.weights, colour_signature(payload)
        hidden = self.hidden()
        ranked = []
        for pid in candidates - {image_id}:
            other = payloads.get(pid)
            if other is None or pid in hidden:
                continue
            score = scores.get(pid, 0.0) + w.hash * hash_closeness(payload, other)
            if IMAGE not in vectors:
                score += w.colour * colour_similarity(colours, colour_signature(other))
            if pid in near:
                score += NEAR_FIRST
            ranked.append((pid, round(score, 4)))
        return sorted(ranked, key=lambda item: (-item[1], item[0]))[:limit]

    def _views(self, vectors: Mapping[str, list[float] | SparseVector], n: int) -> dict[str, float]:
        """Each candidate's weighted sum over the views the image has."""
        w = self.weights
        image = vectors.get(IMAGE)
        if isinstance(image, list) and image:
            return {pid: w.image * score for pid, score in self.store.nearest(IMAGE, image, limit=n)}
        found: dict[str, float] = {}
        labels = vectors.get(LABELS)
        if isinstance(labels, list) and labels:
            # a dot product (the label vector's length says how sure the classifier was):
            # divided by the image's own, its own score would be 1
            own = sum(x * x for x in labels) or 1.0
            for pid, dot in self.store.nearest(LABELS, labels, limit=n):
                found[pid] = found.get(pid, 0.0) + w.labels * dot / own
        dense = vectors.get(DENSE)
        if isinstance(dense, list) and dense:
            for pid, cosine in self.store.nearest(DENSE, dense, limit=n):
                found[pid] = found.get(pid, 0.0) + w.dense * cosine
        return found


def naive_rank(store: Store, image_id: str, limit: int) -> list[tuple[str, float]]:
    """The naive choice the evaluation compares with: the description vector alone."""
    dense = store.vectors(image_id).get(DENSE)
    if not isinstance(dense, list):
        return []
    found = store.nearest(DENSE, dense, limit=limit + 1)
    return [(pid, score) for pid, score in found if pid != image_id][:limit]
