"""The watcher's care of its storage: a full disk and a damaged store.

A full disk pauses the worker (catalog/space.py): the files waiting stay pending, free
space is polled every `poll_seconds`, and once there is room again (with a margin, so it
does not flap) every pending file, and every file an older version failed for lack of
space, is handed back to be queued. At start-up on a full disk nothing is written until
there is room, and a store that could only be searched as a read-only copy is loaded in
place then.

A damaged store is found by reading it back at start-up and whenever a read fails
(`check_requested`, set by GuardedStore.on_damage, looked at between jobs at most every
CHECK_INTERVAL seconds): it is moved aside, a new one is served at once, and the watcher's
reconcile describes every image again into it (indexer/repair.py).

The state here (`disk_full`, `repair`) is read by health from memory: it never waits on
SQLite or the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

import msgspec

from catalog.space import RESUME_MARGIN, DiskFullError, DiskState, is_out_of_space
from catalog.store.guarded import GuardedStore
from indexer.pipeline import Indexer, Outcome
from indexer.reconcile import reconcile
from indexer.repair import find_damage, rebuild
from indexer.state import FAILED, PENDING, utc_now
from indexer.status import Repair

logger = logging.getLogger(__name__)

# A store whose reads fail but whose read-back finds nothing is checked again at most this
# often (seconds): a full read-back of 100k points takes a while.
CHECK_INTERVAL = 60.0


class Upkeep:
    def __init__(self, indexer: Indexer, stop: threading.Event, poll_seconds: float = 2.0) -> None:
        self.indexer = indexer
        self.poll_seconds = poll_seconds
        self.disk_full: DiskState | None = None  # set while indexing waits for space
        self.repair: Repair | None = None  # set while a rebuilt store fills again
        self.check_requested = threading.Event()  # a read failed: check the store between jobs
        self.checked_at = -CHECK_INTERVAL
        self._stop = stop
        store = indexer.store
        if isinstance(store, GuardedStore):
            store.on_damage = lambda _exc: self.check_requested.set()

    # --- a damaged store ----------------------------------------------------------------

    def check_due(self) -> bool:
        return self.check_requested.is_set() and time.monotonic() - self.checked_at >= CHECK_INTERVAL

    def check_store(self) -> bool:
        """Read the store back; when damaged, rebuild it. True when it was rebuilt (the
        caller queues what it held again)."""
        self.check_requested.clear()
        self.checked_at = time.monotonic()
        store = self.indexer.store
        if not isinstance(store, GuardedStore):
            return False
        reason = find_damage(store)
        if reason is None:
            return False
        self.repair = rebuild(store, reason, expected=self.indexer.state.indexed_images())
        return self.repair is not None

    def written(self, done: Iterable[tuple[str, Outcome | None]]) -> None:
        """Files whose outcome became final: a repair counts the ones written back."""
        repair = self.repair
        if repair is not None:
            back = sum(1 for _, outcome in done if outcome in ("described", "linked"))
            self.repair = msgspec.structs.replace(repair, stored=repair.stored + back)

    def condition(self, ready: bool, idle: bool) -> tuple[DiskState | None, Repair | None]:
        """The full disk and the repair under way; a repair is over once the watcher is
        ready and idle (every image the journal knew is back)."""
        if self.repair is not None and ready and idle:
            self.repair = None
        return self.disk_full, self.repair

    # --- a full disk --------------------------------------------------------------------

    def wait_to_write(self) -> list[str] | None:
        """At start-up: with the disk full, wait for space before writing anything (and,
        when start-up could only search a copy of the store, load it in place then).
        The paths to queue again ([] when the disk had room); None when stopped."""
        store = self.indexer.store
        copied = isinstance(store, GuardedStore) and store.read_only is not None
        full = store.read_only if isinstance(store, GuardedStore) and store.read_only else None
        full = full or self.indexer.space.check()
        if full is None:
            return []
        waiting = self.wait_for_space(full)
        if waiting is None:
            return None
        if copied and isinstance(store, GuardedStore):
            store.open_in_place()
            logger.info("loaded the store in place again; indexing")
        return waiting

    def wait_for_space(self, full: DiskState) -> list[str] | None:
        """Paused: nothing is written until the disk has room again, then the files to
        queue again: every file left pending, or failed for lack of space by an older
        version, and (a reconcile) those whose first write never happened. None when
        stopped meanwhile. Search goes on throughout."""
        logger.error("indexing paused: %s", DiskFullError(full).message)
        since = utc_now()
        self.disk_full = msgspec.structs.replace(full, since=since)
        guard = self.indexer.space
        while not self._stop.is_set():
            now = guard.check(margin=RESUME_MARGIN)
            if now is None:
                break
            self.disk_full = msgspec.structs.replace(now, since=since)
            self._stop.wait(self.poll_seconds)
        if self._stop.is_set():
            return None
        self.disk_full = None
        journal = self.indexer.state
        for row in journal.with_status(FAILED):
            if is_out_of_space(Exception(row.error)):
                journal.requeue(row.path)
        plan = reconcile(self.indexer)
        waiting = sorted(
            {row.path for row in journal.with_status(PENDING)} | set(plan.to_index) | set(plan.deferred)
        )
        free_mb = guard.free() / 2**20
        logger.info("space is back (%.0f MB free); indexing the %d waiting files", free_mb, len(waiting))
        return waiting
