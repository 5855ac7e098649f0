"""Which stored images an export holds, read a page at a time so that a catalog of
100k images never sits in memory: every image (Store.scroll), only those carrying
every given tag, or the hits of a search in their ranked order.

With a query, an export holds at most MAX_QUERY_HITS images: the search ranks what its
views return (search/service.py asks each for a few times the limit), and past the
first thousand a search's hits are no longer what the words asked for. Without a query
there is no limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from catalog.store.base import Store, StoredImage
from describe.knowledge.vocabulary import normalise_tag

MAX_QUERY_HITS = 1000
PAGE = 256


def wanted_tags(tags: Iterable[str]) -> list[str]:
    """The tag filters as stored tags are spelled (what search does with them too)."""
    return list(dict.fromkeys(n for n in map(normalise_tag, tags) if n))


def all_records(store: Store, tags: Sequence[str] = ()) -> Iterator[tuple[str, StoredImage]]:
    """Every stored image carrying each of `tags` (normalised first), in the store's order."""
    yield from store.scroll(PAGE, wanted_tags(tags))  # filtered by the store


def ranked_records(store: Store, ids: Sequence[str]) -> Iterator[tuple[str, StoredImage]]:
    """The records of `ids` in that order, a page at a time; one deleted meanwhile is
    left out."""
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE]
        found = store.get_many(page)
        yield from ((point_id, found[point_id]) for point_id in page if point_id in found)
