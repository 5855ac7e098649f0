"""What the catalog's index is doing: one typed answer for REST, pages and CLI.

The watcher is the status source when a folder is watched (counts from its state
table, plus its queue); without one, `StoreOnlyStatus` answers from the store's
point count. Both return the same `IndexStatus`.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from catalog.space import DiskState
from catalog.store.base import Store


class Failure(msgspec.Struct, frozen=True):
    """A file that could not be indexed, and why (the reason without its path)."""

    path: str
    error: str
    updated_at: str  # ISO 8601, UTC


class Repair(msgspec.Struct, frozen=True):
    """What health and status say while a rebuilt store fills again."""

    reason: str  # what the check found
    moved_to: str  # where the damaged store now is
    started_at: str  # ISO 8601, UTC
    expected: int  # images the journal knew when the store was moved aside
    stored: int = 0  # images in the new store so far


class IndexStatus(msgspec.Struct, frozen=True, omit_defaults=True):
    """Counts and recent failures; GET /api/index/status sends it as JSON."""

    indexed: int  # files indexed
    images: int  # distinct contents among them: one store point each, as search counts
    pending: int  # files waiting to be looked at (queued, or left pending by a crash)
    failed: int  # files that failed, all of them (`failures` lists the most recent)
    failures: list[Failure]
    watching: str | None  # the watched folder; null when the server watches none
    # the watcher's start-up reconcile has queued its work; only a watcher sends it
    ready: bool | None = None
    # set while the data folder's disk is full: indexing waits for space, search goes on
    disk_full: DiskState | None = None
    # set while a damaged store, moved aside, is rebuilt: what was found, where it went,
    # and how many images are back (search answers from those meanwhile)
    repair: Repair | None = None


class StatusSource(Protocol):
    def status(self) -> IndexStatus: ...


class StoreOnlyStatus:
    """The status source when no folder is watched: there is no state table, so the
    store's points are all there is to count."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def status(self) -> IndexStatus:
        count = self.store.count()
        return IndexStatus(indexed=count, images=count, pending=0, failed=0, failures=[], watching=None)
