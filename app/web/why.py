"""Why a hit matched, as the search page shows it: a one-line summary (the hover title of
the "Why" toggle), the views with their share in percent, and the best sentence cut into
(text, matched) pieces, so the template marks the matched words with <mark> and escapes
every piece like any other text (never |safe on a description)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from search.service import SearchHit
from search.why import Why

# what each view is, in the page's words
VIEW_NAMES = {
    "dense": "the description",
    "focus": "the confident facts",
    "labels": "the labels",
    "sparse": "exact words",
    "image": "the picture",
}


@dataclass(frozen=True)
class WhyView:
    summary: str
    views: list[tuple[str, int]]  # (what the view reads, percent of the score)
    words: list[str]
    tags: list[str]
    sentence: list[tuple[str, bool]]  # the best sentence in pieces; True: a matched word


def why_views(hits: Iterable[SearchHit]) -> dict[str, WhyView]:
    """The view of each hit that carries a `why` (hits of a query), by id."""
    return {hit.id: why_view(hit.why) for hit in hits if hit.why is not None}


def why_view(why: Why) -> WhyView:
    views = [(VIEW_NAMES.get(v.view, v.view), round(v.share * 100)) for v in why.views]
    found = ", ".join(f"{name} ({percent}%)" for name, percent in views)
    summary = f"Found by {found}" if found else "Ranked by the description"
    if why.words:
        summary += "; matched " + ", ".join(why.words)
    return WhyView(summary, views, why.words, why.tags, pieces(why.sentence, why.marks))


def pieces(text: str, marks: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """`text` cut at the marked spans: (text, True) for each marked one. Spans out of
    range, empty or overlapping an earlier one are skipped, never an error."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in sorted(marks):
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        if start > at:
            out.append((text[at:start], False))
        out.append((text[start:end], True))
        at = end
    if at < len(text):
        out.append((text[at:], False))
    return out
