"""Scoring functions: pure, no models, no I/O, so they are tested on fixed inputs.

Tags are scored against *synonym groups*: a reference lists the things a person would
tag, each as a set of words that mean the same ("cup" or "mug"). Recall is the share of
groups hit by at least one predicted tag; precision is the share of predicted tags that
fall in some group (or in the reference's `acceptable` list). Rankings use binary
relevance unless grades are given (nDCG then uses them as gains).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

import msgspec

from catalog.embed import words  # the project's one word-splitting rule


class SetScore(msgspec.Struct, frozen=True):
    """Precision/recall of a predicted set against synonym groups. None where undefined:
    precision of an empty prediction, recall against no groups."""

    precision: float | None
    recall: float | None
    missed: list[str]  # the first word of each group nothing matched
    wrong: list[str]  # predicted items in no group (and not acceptable)

    @property
    def f1(self) -> float | None:
        return f1(self.precision, self.recall)


def f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _clean(word: str) -> str:
    return " ".join(word.lower().split())


def group_scores(
    predicted: Iterable[str],
    groups: Sequence[Collection[str]],
    acceptable: Collection[str] = (),
    normalise: Callable[[str], str] = _clean,
) -> SetScore:
    """Score predicted words against synonym groups; `normalise` is applied to both sides."""
    pred = list(dict.fromkeys(normalise(p) for p in predicted if p.strip()))
    norm_groups = [{normalise(w) for w in g} for g in groups]
    ok = {normalise(a) for a in acceptable}
    hit = [bool(g & set(pred)) for g in norm_groups]
    known = set().union(*norm_groups) | ok if norm_groups else ok
    wrong = [p for p in pred if p not in known]
    return SetScore(
        precision=(len(pred) - len(wrong)) / len(pred) if pred else None,
        recall=sum(hit) / len(hit) if hit else None,
        missed=[next(iter(g), "") for g, h in zip(groups, hit, strict=True) if not h],
        wrong=wrong,
    )


def found_in_text(
    groups: Sequence[Collection[str]],
    tags: Sequence[str],
    text: str,
    normalise: Callable[[str], str] = _clean,
    max_tags: int = 15,
) -> float | None:
    """Share of reference groups named among the first `max_tags` tags or anywhere in the
    text (as a word or a phrase of up to three words): what a reader of the paragraph and
    the tag list finds, however the tags are cut."""
    if not groups:
        return None
    tokens = words(text)
    said = {normalise(t) for t in tags[:max_tags]}
    for n in (1, 2, 3):
        said |= {normalise(" ".join(tokens[i : i + n])) for i in range(len(tokens) - n + 1)}
    return sum(bool({normalise(w) for w in g} & said) for g in groups) / len(groups)


def jaccard(a: Collection[str], b: Collection[str]) -> float:
    """|a ∩ b| / |a ∪ b|; two empty sets agree completely."""
    sa, sb = set(a), set(b)
    return 1.0 if not sa and not sb else len(sa & sb) / len(sa | sb)


def _gains(relevant: Collection[str] | Mapping[str, float]) -> dict[str, float]:
    if isinstance(relevant, Mapping):
        return {k: float(v) for k, v in relevant.items() if v > 0}
    return dict.fromkeys(relevant, 1.0)


def reciprocal_rank(ranking: Sequence[str], relevant: Collection[str]) -> float:
    """1 / rank of the first relevant item (ranks start at 1); 0 when none was returned."""
    wanted = set(relevant)
    return next((1.0 / i for i, item in enumerate(ranking, 1) if item in wanted), 0.0)


def first_rank(ranking: Sequence[str], item: str) -> int | None:
    return next((i for i, got in enumerate(ranking, 1) if got == item), None)


def hit_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1 when any of the first k results is relevant, else 0. Unlike recall@k it does
    not shrink when a query has several relevant images."""
    return float(bool(set(relevant) & set(ranking[:k])))


def recall_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant items found in the first k results."""
    wanted = set(relevant)
    if not wanted:
        raise ValueError("recall needs at least one relevant item")
    return len(wanted & set(ranking[:k])) / len(wanted)


def precision_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the first k slots holding a relevant item (empty slots count as misses)."""
    return len(set(relevant) & set(ranking[:k])) / k


def ndcg_at_k(ranking: Sequence[str], relevant: Collection[str] | Mapping[str, float], k: int) -> float:
    """Normalised discounted cumulative gain at k (gain / log2(rank + 1)).

    `relevant` is a set of names (gain 1 each) or a mapping name → graded gain."""
    gains = _gains(relevant)
    if not gains:
        raise ValueError("nDCG needs at least one relevant item")
    dcg = sum(gains.get(item, 0.0) / math.log2(i + 1) for i, item in enumerate(ranking[:k], 1))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, 1))
    return dcg / idcg


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None when there are none."""
    present = [v for v in values if v is not None and not math.isnan(v)]
    return sum(present) / len(present) if present else None
