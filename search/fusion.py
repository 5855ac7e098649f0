"""Weighted score fusion of the store's views (see catalog/points.py for what each
view holds). Pure functions: lists of (id, score) in, one ranking out.

Why a weighted sum of scores rather than reciprocal-rank fusion: RRF gives the 20th
dense match and the 20th lexical match the same credit, so a lexical side that has
little to match ("red flower" hitting "wood" and "blinds" once each) adds noise at
full weight. Scores carry how well each view matched; the weights say how much each
view knows. On both dev sets (docs/EVALUATION.md) z-score and DBSF-style normalisation
of the views did no better than these raw-score weights; RRF of dense + sparse with a
cosine cut-off, the first version, scored 0.1–0.2 MRR lower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from catalog.store.base import DENSE, FOCUS, IMAGE, LABELS, SPARSE
from describe.analyzers.siglip.scores import match_probability as siglip_probability

Ranked = Sequence[tuple[str, float]]


class Weights(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How much each view counts. Calibrated on both dev sets together (a grid over
    focus 0.2–0.7, labels 0.1–0.4, sparse 0.1–0.3, best summed MRR; the top ten
    settings were within 0.01 of each other on the larger set); the dense recall view
    is the reference (1.0)."""

    dense: float = 1.0
    focus: float = 0.4
    labels: float = 0.2
    sparse: float = 0.2
    # the image vectors (SigLIP 2), scored as the model's match probability σ(t·cos + b):
    # not calibrated on the dev sets yet (that needs the real weights; docs/RESEARCH.md),
    # so a guess that puts a confident match (p ≈ 0.2–0.4) level with a good focus match
    image: float = 1.0
    # BM25 scores grow with the collection (IDF); s / (s + k) keeps them in [0, 1) so
    # the weight means the same on 100 images and on 100,000
    sparse_saturation: float = 5.0

    def by_view(self) -> dict[str, float]:
        """The weights keyed by the store's view names, as fuse() takes them."""
        return {
            DENSE: self.dense,
            FOCUS: self.focus,
            LABELS: self.labels,
            SPARSE: self.sparse,
            IMAGE: self.image,
        }


def saturate(score: float, k: float) -> float:
    return score / (score + k) if score > 0 else 0.0


def match_probability(cosine: float, scale: float, bias: float) -> float:
    """SigLIP's sigmoid of a text-image cosine: the model's probability that they match.
    Cosines of text and image vectors sit in a narrow band (−0.1..0.2); this puts them on
    a scale the other views' weights mean something against."""
    return float(siglip_probability(cosine, scale, bias))


def fuse(views: Mapping[str, Ranked], weights: Mapping[str, float], complete: Mapping[str, bool]) -> Ranked:
    """Σ weight · score over the views, best first.

    A view returns its top n. A candidate missing from a view that was cut at n scores
    that view's lowest returned score (an upper bound: it ranked below all of them);
    missing from a view that returned everything it has (`complete`), it scores 0 —
    it has no such vector (no labels) or no shared term.
    """
    floors = {
        name: (0.0 if complete.get(name) or not ranked else min(s for _, s in ranked))
        for name, ranked in views.items()
    }
    scores = {name: dict(ranked) for name, ranked in views.items()}
    candidates = {pid for ranked in views.values() for pid, _ in ranked}
    totals = {
        pid: sum(weights.get(name, 0.0) * scores[name].get(pid, floors[name]) for name in views)
        for pid in candidates
    }
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def contributions(
    views: Mapping[str, Ranked], weights: Mapping[str, float], ids: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Each of `ids` with weight · score from each view that returned it: the parts of its
    fused score that views found (fuse() adds to them the floors of views that cut their
    list before reaching it). Why a hit matched (search/why.py) reports them."""
    out: dict[str, dict[str, float]] = {pid: {} for pid in ids}
    for name, ranked in views.items():
        weight = weights.get(name, 0.0)
        for pid, score in ranked:
            found = out.get(pid)
            if found is not None:
                found[name] = weight * score
    return out


def likely_cut(fused: Ranked, ratio: float) -> int:
    """How many of the ranked hits are likely matches: those within `ratio` of the
    best score. The rest are shown below a divider, never hidden."""
    if not fused:
        return 0
    best = fused[0][1]
    if best <= 0:
        return 0
    return sum(1 for _, s in fused if s >= best * ratio)
