"""One hit per family: a search's ranked hits with every near copy and generation variant
of a better-ranked hit folded into it (`collapsed` counts them, "+3 variants").

A step after ranking, so the ranking itself is the same with or without it: the search is
asked for more hits than the page shows (COLLAPSE_FETCH times), the families are folded
in rank order, and the page is cut. A family's other members are counted whether or not
they matched the query (a person opening the group sees all of them), hidden ones not.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from msgspec.structs import replace

from catalog.families.groups import Families
from search.service import MAX_LIMIT, SearchHit, SearchService

# hits asked of the search per hit shown: a page of 20 folds 60 hits
COLLAPSE_FETCH = 3


def fetch_limit(limit: int) -> int:
    """How many ranked hits to ask for to fill `limit` after folding."""
    return min(MAX_LIMIT, max(1, limit) * COLLAPSE_FETCH)


def collapse(
    hits: Sequence[SearchHit],
    family: Callable[[str], Sequence[str]],
    limit: int,
    hidden: Collection[str] = frozenset(),
) -> list[SearchHit]:
    """The first hit of each family, in rank order, at most `limit`. `family(id)`: the ids
    of the image's family, itself included ([id] alone when it has none)."""
    seen: set[str] = set()
    kept: list[SearchHit] = []
    for hit in hits:
        if hit.id in seen:
            continue
        members = family(hit.id)
        seen.update(members)
        others = sum(1 for m in members if m != hit.id and m not in hidden)
        kept.append(replace(hit, collapsed=others))
        if len(kept) >= limit:
            break
    return kept


def collapsed_search(
    search: SearchService,
    families: Families,
    query: str,
    tags: Sequence[str],
    limit: int,
    *,
    not_tags: Sequence[str] = (),
) -> list[SearchHit]:
    """SearchService.search with one hit per family."""
    hits = search.search(query, tags, fetch_limit(limit), not_tags=not_tags)
    return collapse(hits, families.family, limit, families.hidden_ids())
