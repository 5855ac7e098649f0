"""Watching a folder: watchdog events → a debounced queue → one worker thread.

A file is indexed only once its size and mtime have stayed the same for
`stable_seconds` after the last event, so a copy or download in progress is
not described half-written. A writer can pause for longer than that: a file
that then fails to decode and was modified less than `settle_seconds` ago stays
pending and is looked at again, instead of flashing up as failed.
Deletions wait a little longer than the quiet interval, so when a tool "moves"
by delete + create, the new path is linked to the existing point before the old
path's removal would otherwise delete it.
A full disk pauses the worker and a damaged store is rebuilt (indexer/upkeep.py).
One worker makes every write (the describer serialises inference anyway); a reader
thread hashes and decodes the next files ahead of it (indexer/batch.py). Files due
together are written in batches, and a batch closes as soon as nothing else is due,
so a single dropped file is in the store as quickly as it was one at a time.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from catalog.embed import TextEmbedder
from catalog.space import DiskFullError, DiskState
from catalog.store.base import Store
from describe.describer import Describer
from describe.files import looks_like_image
from indexer import service
from indexer.batch import Batch
from indexer.pipeline import Indexer, Outcome, is_ignored
from indexer.reconcile import reconcile, scan
from indexer.service import index_folder, run_once
from indexer.stages import ReadAhead
from indexer.state import PENDING
from indexer.status import IndexStatus, Repair
from indexer.upkeep import Upkeep

logger = logging.getLogger(__name__)

# index_folder and run_once live in indexer.service; importable from here as well
__all__ = ["Watcher", "index_folder", "run_once"]


@dataclass
class _Item:
    kind: str  # "file" or "dir"
    due: float
    last: tuple[int, int] | None  # (size, mtime_ns) when last seen


class Watcher:
    def __init__(
        self,
        indexer: Indexer,
        *,
        stable_seconds: float = 0.5,
        delete_delay: float = 1.0,
        settle_seconds: float = 5.0,
        space_poll_seconds: float = 2.0,
    ) -> None:
        self.indexer = indexer
        self.stable_seconds = stable_seconds
        self.settle_seconds = settle_seconds
        self.delete_delay = max(delete_delay, stable_seconds * 2)
        self.ready = threading.Event()  # set once the start-up reconcile has been queued
        self.processed = 0
        self._since_optimize = 0
        self._items: dict[str, _Item] = {}
        self._heap: list[tuple[float, str]] = []  # (due, path); stale entries skipped on pop
        self._busy: Counter[str] = Counter()  # taken from the queue, outcome not final yet
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self.upkeep = Upkeep(indexer, self._stop, space_poll_seconds)  # full disk, damaged store
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._owns_indexer = False

    @classmethod
    def create(
        cls,
        root: str | Path,
        data_dir: str | Path,
        describer: Describer,
        embedder: TextEmbedder,
        store: Store,
        *,
        profile: str | None = None,
        **options: float,
    ) -> Watcher:
        """A watcher with its own Indexer, closed again by stop()."""
        watcher = cls(Indexer(root, data_dir, describer, embedder, store, profile=profile), **options)
        watcher._owns_indexer = True
        return watcher

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Watch first, then reconcile in the worker: changes made during the start-up
        scan are caught by the observer instead of falling between the two."""
        root = self.indexer.root
        root.mkdir(parents=True, exist_ok=True)
        handler = _Handler(self)
        try:
            self._observer = Observer()
            self._observer.schedule(handler, str(root), recursive=True)
            self._observer.start()
        except OSError as exc:  # e.g. the inotify watch limit on a huge tree
            logger.warning("native file watching failed (%s); polling %s instead", exc, root)
            self._observer = PollingObserver(timeout=2)
            self._observer.schedule(handler, str(root), recursive=True)
            self._observer.start()
        self._thread = threading.Thread(target=self._run, name="imgdesc-indexer", daemon=True)
        self._thread.start()
        logger.info("watching %s", root)

    def stop(self, timeout: float | None = 30) -> None:
        """Stop watching; the file being described is finished first, the rest of the
        queue is left to the next start's reconcile."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the indexer worker is still busy; leaving it to finish on exit")
                return
        if self._owns_indexer:
            self.indexer.close()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._items.keys() | self._busy.keys())

    def wait_idle(self, timeout: float) -> bool:
        """True once the start-up reconcile is done and the queue is empty."""
        if not self.ready.wait(timeout):
            return False
        with self._cond:
            return self._cond.wait_for(lambda: not self._items and not self._busy, timeout)

    def status(self) -> IndexStatus:
        status = self.indexer.status()
        with self._cond:
            queued = self._items.keys() | self._busy.keys()
        # rows a crash left pending count until the reconcile re-queues them
        queued |= {row.path for row in self.indexer.state.with_status(PENDING)}
        disk_full, repair = self.condition()
        if repair is not None:
            repair = msgspec.structs.replace(repair, stored=self.indexer.store.count())
        return msgspec.structs.replace(
            status, pending=len(queued), ready=self.ready.is_set(), disk_full=disk_full, repair=repair
        )

    def condition(self) -> tuple[DiskState | None, Repair | None]:
        """The full disk and the repair under way, read without touching SQLite or the
        store: health answers from this however slow they are. The repair's `stored` is
        the files written since it began (status counts the store's points instead)."""
        with self._cond:
            idle = not self._items and not self._busy
        return self.upkeep.condition(self.ready.is_set(), idle)

    # set by tests and read by pages through status(): the upkeep's state
    @property
    def disk_full(self) -> DiskState | None:
        return self.upkeep.disk_full

    @disk_full.setter
    def disk_full(self, value: DiskState | None) -> None:
        self.upkeep.disk_full = value

    @property
    def repair(self) -> Repair | None:
        return self.upkeep.repair

    @repair.setter
    def repair(self, value: Repair | None) -> None:
        self.upkeep.repair = value

    # --- queue ------------------------------------------------------------------------

    def enqueue(
        self, rel: str, kind: str = "file", *, gone: bool = False, delay: float | None = None
    ) -> None:
        """Schedule a path for a look after the debounce delay (or `delay` seconds);
        repeated events push it back."""
        if delay is None:
            delay = self.delete_delay if gone else self.stable_seconds
        last = None if gone or kind == "dir" else _stat(self.indexer.root / rel)
        due = time.monotonic() + delay
        with self._cond:
            item = self._items.get(rel)
            if item is None:
                self._items[rel] = _Item(kind, due, last)
            else:
                item.due, item.last = due, last
                item.kind = "dir" if "dir" in (kind, item.kind) else "file"
            heapq.heappush(self._heap, (due, rel))
            self._cond.notify_all()

    def _next(self, block: bool) -> tuple[str, _Item] | None:
        """The next path that is due; None when stopping, or (not blocking) when none is."""
        with self._cond:
            while not self._stop.is_set():
                while self._heap and self._items.get(self._heap[0][1]) is None:
                    heapq.heappop(self._heap)  # already handled
                if not self._heap:
                    if not block:
                        return None
                    self._cond.wait()
                    continue
                due, rel = self._heap[0]
                item = self._items[rel]
                if due != item.due:
                    heapq.heappop(self._heap)  # superseded by a later event
                    continue
                wait = due - time.monotonic()
                if wait > 0:
                    if not block:
                        return None
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                del self._items[rel]
                self._busy[rel] += 1
                return rel, item
        return None

    def _run(self) -> None:
        waiting = self.upkeep.wait_to_write()
        if waiting is None:  # stopped while the disk was full
            self.ready.set()
            return
        for rel in waiting:
            self.enqueue(rel)
        try:
            self.upkeep.check_store()
            if self.indexer.needs_reembed():
                self.indexer.reembed_all()
            self.indexer.reembed_images()
            self.indexer.group_images()  # near-duplicates and variants (catalog/families/)
            plan = reconcile(self.indexer)
            for rel in plan.to_index:
                self.enqueue(rel)
            for rel, wait in plan.deferred.items():  # stopped the process before: pending, later
                self.enqueue(rel, delay=max(wait, self.stable_seconds))
        except Exception:
            logger.exception("start-up reconcile of %s failed; watching anyway", self.indexer.root)
        self.ready.set()
        batch = Batch(self.indexer, settle_seconds=self.settle_seconds)
        with ReadAhead(self.indexer.prepare, batch.read_ahead) as ahead:
            while not self._stop.is_set():
                if self.upkeep.check_due():
                    self._repair_now(batch, ahead)
                job = self._next(block=not (ahead or len(batch)))
                try:
                    if job is not None:
                        self._take(*job, ahead, batch)
                    elif ahead:  # nothing else due: finish what is in hand
                        self._finish(batch.add(ahead.next()))
                    elif not self._stop.is_set():
                        self._finish(batch.flush())
                except DiskFullError as full:
                    self._finish((rel, None) for rel in set(self._busy) - set(ahead.paths()))
                    for rel in self.upkeep.wait_for_space(full.state) or ():  # the batch keeps what it holds
                        self.enqueue(rel)
                except Exception:  # the pipeline records per-file failures; this is a bug or a store outage
                    logger.exception("indexer worker error")
                    batch.close()
                    batch = Batch(self.indexer, settle_seconds=self.settle_seconds)  # its rows stay pending
                    self._finish((rel, None) for rel in set(self._busy) - set(ahead.paths()))
            try:  # stopping: what is described goes to the store; the rest waits for the next start
                self._finish(batch.flush())
            except Exception:
                logger.exception("indexer worker error while stopping")
            finally:
                batch.close()

    def _repair_now(self, batch: Batch, ahead: ReadAhead) -> None:
        """A read failed: finish what is in hand, check the store and, if it was rebuilt,
        queue everything it held again."""
        try:
            while ahead:
                self._finish(batch.add(ahead.next()))
            self._finish(batch.flush())
        except Exception:
            logger.exception("indexer worker error before checking the store")
        try:
            if self.upkeep.check_store():
                plan = reconcile(self.indexer)
                for rel in plan.to_index:
                    self.enqueue(rel)
        except Exception:
            logger.exception("checking the store failed")

    def _take(self, rel: str, item: _Item, ahead: ReadAhead, batch: Batch) -> None:
        current = _stat(self.indexer.root / rel) if item.kind == "file" else None
        if current is not None and current == item.last:
            ahead.submit(rel)  # quiet since its last event: read it ahead, write it in a batch
            if ahead.full():
                self._finish(batch.add(ahead.next()))
            return
        if current is not None:
            self.enqueue(rel)  # still growing: check again after another quiet interval
            self._finish([(rel, None)])
            return
        while ahead:  # a folder or a removal: what came before it is written first
            self._finish(batch.add(ahead.next()))
        self._finish(batch.flush())
        if item.kind == "dir":
            self._folder(rel)
        else:
            self.indexer.remove_path(rel)
        self._finish([(rel, None)])

    def _folder(self, rel: str) -> None:
        """A folder appeared, vanished or moved: look at what is under it now and at
        what the state remembers under it; each file is then handled on its own."""
        root = self.indexer.root
        full = root / rel
        found = {f"{rel}/{p}" for p in scan(full, within=root)} if full.is_dir() else set()
        known = {p for p in self.indexer.state.all_paths() if p.startswith(rel + "/")}
        for path in sorted(found):
            self.enqueue(path)
        for path in sorted(known - found):
            if _stat(root / path) is None:  # the folder's event already waited out the delay
                self.indexer.remove_path(path)

    def _finish(self, finished: Iterable[tuple[str, Outcome | None]]) -> None:
        """Paths whose outcome is final (None: a job that indexed nothing itself)."""
        done = list(finished)
        if not done:
            return
        for rel, outcome in done:
            if outcome == "changing":
                self.enqueue(rel)  # still being written: looked at again after a quiet interval
        self.upkeep.written(done)
        with self._cond:
            for rel, _ in done:
                self._busy[rel] -= 1
                if self._busy[rel] <= 0:
                    del self._busy[rel]
            self.processed += len(done)
            self._since_optimize += len(done)
            idle = not self._items and not self._busy
            self._cond.notify_all()
        if idle and self._since_optimize >= service.OPTIMIZE_AFTER:
            self._since_optimize = 0
            service.optimize_store(self.indexer.store)  # logs a failure: search works, only slower


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind in ("opened", "closed_no_write") or (event.is_directory and kind in ("modified", "closed")):
            return
        if kind == "moved":
            self._path(os.fsdecode(event.src_path), event.is_directory, gone=True)
            self._path(os.fsdecode(event.dest_path), event.is_directory, gone=False)
        else:
            self._path(os.fsdecode(event.src_path), event.is_directory, gone=kind == "deleted")

    def _path(self, path: str, is_dir: bool, gone: bool) -> None:
        try:
            rel = self.watcher.indexer.rel(path)
        except ValueError:
            return  # outside the root (moved out of it: handled as the src side)
        if rel in ("", ".") or is_ignored(rel) or (not is_dir and not looks_like_image(Path(rel))):
            return
        self.watcher.enqueue(rel, "dir" if is_dir else "file", gone=gone)
