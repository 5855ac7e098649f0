"""Indexing in batches: files are hashed and decoded ahead in a thread, described
(one at a time, or in the captioner's batches when it batches), and their points
embedded, upserted and flushed together, every MAX_ITEMS images or MAX_WAIT seconds
(or when nothing else waits).

Write order (why a kill at any moment loses nothing and duplicates nothing):

1. a file's state row is marked *pending* with its new sha256 (an older content's
   hash is kept in the row's `stale` list), before any store write for it;
2. it is described; its record is composed, its thumbnail written atomically and its
   point embedded in the encoding thread (indexer/stages.py) while the next file is
   described; the point waits in the batch;
3. the batch's points are upserted in one call, which returns once they are durable
   (the embedded store flushes, a server answers after its WAL); ids are derived from
   the sha256, so a redo overwrites instead of duplicating, and `paths` are read from
   the state table, so they are complete;
4. then, file by file, the points named in `stale` drop this path (or are deleted when
   no path is left), and the row is marked *indexed* (or *failed* with a reason).

A full disk stops the batch, not the files: before describing and before writing, the
data folder's free space is checked (catalog/space.py), and a write that fails for lack of
space raises DiskFullError out of the batch instead of failing its file. The batch's rows
stay pending, nothing half-written is marked indexed, and the watcher pauses until space
is back.

A kill before step 3 leaves the batch's rows pending: a restart describes them again.
A kill after it leaves rows pending whose points exist: a restart only sets their paths
(no second description). Nothing else touches a batch's paths or contents while it is
open: a file whose path or content is in it, and every removal, flushes it first, so
the paths a point was given are still right when it is written.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from catalog.points import PointEncoder, image_vector
from catalog.space import DiskFullError, DiskGuard, is_out_of_space
from catalog.store.base import ImagePoint, point_id
from catalog.thumbs import thumbnail_path, write_thumbnail
from describe.errors import ImageError
from describe.intake import PreparedImage
from describe.memory import release_freed_memory
from indexer.pipeline import (
    PARTIAL_FILE_ERRORS,
    Broken,
    Indexer,
    Outcome,
    Prepared,
    Read,
    Skipped,
    Unchanged,
    Unreadable,
    failure_reason,
)
from indexer.records import Analysis, analyze_each, describe_batch_size, image_record
from indexer.stages import EncodeStage, ReadAhead
from indexer.state import FAILED, INDEXED, utc_now

logger = logging.getLogger(__name__)

# A batch closes at this many images or after this many seconds, whichever comes first,
# or as soon as nothing else is waiting (in the watcher): a kill redoes at most one
# batch of descriptions, and a file dropped into a quiet folder reaches search at once.
# The time bound only matters in a bulk load. Each close flushes the store, which cost
# ~30 ms here; at 1 s the batches of the bench samples held 3 images and the flushes
# took 8-10 ms of every image's ~370 ms; at 5 s a bulk load shows up in search every
# few seconds and the flushes cost 2 ms an image.
MAX_ITEMS = 32
MAX_WAIT = 5.0

Finished = list[tuple[str, Outcome]]


@dataclass(frozen=True)
class _Described:
    rel: str
    point: ImagePoint


class FileOps(Protocol):
    """The indexer's operations on files and their points that a batch calls (pipeline.py)."""

    def decode(self, found: Read) -> PreparedImage: ...
    def changed_since(self, full: Path, st: os.stat_result) -> bool: ...
    def still_written(self, full: Path, st: os.stat_result, settle_seconds: float) -> bool: ...
    def remove_path(self, rel_path: str) -> None: ...
    def sync_point(self, sha: str, exclude: str | None = None) -> None: ...
    def sync_stale(self, rel_path: str) -> None: ...


class Batch:
    """The writing side: takes prepared files in order and makes every write, in the
    order the module docstring sets out. `add` and `flush` return the files whose
    outcome became final (a described file's once its row says indexed)."""

    def __init__(
        self,
        indexer: Indexer,
        *,
        settle_seconds: float = 0.0,
        max_items: int | None = None,
        max_wait: float | None = None,
    ) -> None:
        # What the writing side uses, named once rather than reached for through the
        # indexer: the journal, the store and its point encoder, the describer and its two
        # profiles, the folders, and the indexer's file operations (FileOps).
        self.state, self.store = indexer.state, indexer.store
        self.points: PointEncoder = indexer.points
        self.describer, self.profile, self.alt_profile = (
            indexer.describer,
            indexer.profile,
            indexer.alt_profile,
        )
        self.embedding_model = indexer.embedder.name
        self.root, self.data_dir = indexer.root, indexer.data_dir
        self.space: DiskGuard = indexer.space
        self.files: FileOps = indexer
        self.settle_seconds = settle_seconds
        self.max_items = max_items or MAX_ITEMS
        self.max_wait = MAX_WAIT if max_wait is None else max_wait
        self.describe_size = describe_batch_size(indexer.describer, indexer.profile)
        # files prepared ahead: the captioner's next batch and one more, so decoding
        # never waits for inference and at most this many decoded images wait in memory
        self.read_ahead = self.describe_size + 1
        self._images: list[Read] = []  # decoded, waiting for the captioner's batch
        self._encoding = EncodeStage()  # described, being composed and embedded
        self._points: list[_Described] = []  # encoded, waiting for the store
        self._opened: float | None = None  # when the first file of the open batch came
        self._finished: Finished = []

    def __len__(self) -> int:
        return len(self._images) + len(self._encoding) + len(self._points)

    def due(self) -> bool:
        """Full, or open for MAX_WAIT seconds."""
        if self._opened is None:
            return False
        return len(self) >= self.max_items or time.monotonic() - self._opened >= self.max_wait

    def add(self, found: Prepared) -> Finished:
        if self._touches(found):
            self._flush()
        try:
            outcome = self._start(found)
        except Exception as exc:  # one file's error (a bug, a journal write) is that file's
            outcome = self._broken(found.rel, exc)  # unless the disk is full: that stops the batch
        if outcome is not None:
            self._finished.append((found.rel, outcome))
        if self.due():
            self._flush()
        return self._take()

    def flush(self) -> Finished:
        self._flush()
        return self._take()

    def close(self) -> None:
        """Stop the encoding thread. What the batch holds is not written: its rows stay
        pending, for a restart (or the next batch) to describe again."""
        self._encoding.close()

    def _take(self) -> Finished:
        finished, self._finished = self._finished, []
        return finished

    def _touches(self, found: Prepared) -> bool:
        if not len(self):
            return False
        if isinstance(found, Skipped) and found.why in ("missing", "outside"):
            return True  # a removal: it may change the paths of a point in the batch
        sha = found.sha if isinstance(found, Read) else None
        held = [(f.rel, f.sha) for f in self._images] + self._encoding.held()
        held += [(d.rel, d.point.payload.sha256) for d in self._points]
        return any(found.rel == rel or sha == held_sha for rel, held_sha in held)

    # --- one file -----------------------------------------------------------------------

    def _start(self, found: Prepared) -> Outcome | None:
        """The file's decisions and first writes; None when it waits in the batch."""
        rel = found.rel
        if isinstance(found, Broken):
            return self._broken(rel, found.error)
        if isinstance(found, Skipped):
            if found.why != "skipped":  # vanished, or a link that now leads out: forget it
                self.files.remove_path(rel)
            return "missing" if found.why == "missing" else "skipped"
        st = found.stat
        row = self.state.get(rel)  # again: an earlier file of this batch may have settled it
        if row and row.settled_at(st.st_size, st.st_mtime_ns):
            return "unchanged"
        if isinstance(found, Unchanged):
            return "changing"  # its row moved since the read side looked: look again
        if isinstance(found, Unreadable):
            if isinstance(found.error, FileNotFoundError):
                return "changing"  # deleted while we read it; its deletion event follows
            reason = failure_reason(found.error, str(self.root / rel), rel)  # permissions, I/O
            self.state.fail_new(rel, st.st_size, st.st_mtime_ns, "", reason)
            logger.warning("cannot read %s: %s", rel, found.error)
            return "failed"
        if found.changed:
            return "changing"
        if row and row.holds(found.sha):
            self.state.update_stats(rel, st.st_size, st.st_mtime_ns)
            return "unchanged"

        self.state.begin(rel, st.st_size, st.st_mtime_ns, found.sha)  # step 1
        try:
            outcome = self._link_or_hold(found)
        except Exception as exc:  # one bad file never stops the indexer
            return self._fail(found, exc)
        return None if outcome is None else self._end(rel, outcome)

    def _link_or_hold(self, found: Read) -> Outcome | None:
        pid = point_id(found.sha)
        if self.store.get(pid) is not None:
            self.files.sync_point(found.sha)  # a move or a duplicate: same bytes, no new description
            if not thumbnail_path(self.data_dir, pid).exists():  # thumbs/ was cleared
                self.files.decode(found)
                write_thumbnail(self.data_dir, pid, found.thumbnail)
            return "linked"
        self.files.decode(found)  # decoded ahead as a rule; here only if the store changed since
        if self.files.changed_since(self.root / found.rel, found.stat):
            return "changing"
        if self._opened is None:
            self._opened = time.monotonic()
        self._images.append(found)
        if len(self._images) >= self.describe_size:
            self._describe()
        return None

    def _describe(self) -> None:
        """Step 2 for the decoded images held: analyse (in one call when the captioner
        batches), let go of the pixels, and hand each image to the encoding thread."""
        if not self._images:
            return
        self.space.ensure()  # before the work: a full disk would throw the descriptions away
        held, self._images = self._images, []
        described_at = utc_now()
        images = [self.files.decode(found) for found in held]
        analyses = analyze_each(self.describer, images, self.profile)
        for found, image, analysis in zip(held, images, analyses, strict=True):
            thumbnail, found.image, found.thumbnail = found.thumbnail, None, b""  # the batch keeps no pixels
            if isinstance(analysis, Exception):
                self._finished.append((found.rel, self._fail(found, analysis)))
                continue
            try:
                paths = self.state.paths_for(found.sha)
            except Exception as exc:
                self._finished.append((found.rel, self._fail(found, exc)))
                continue
            self._encoding.submit(
                found, partial(self._encode, found, image, analysis, thumbnail, paths, described_at)
            )

    def _encode(
        self,
        found: Read,
        image: PreparedImage,
        analysis: Analysis,
        thumbnail: bytes,
        paths: list[str],
        described_at: str,
    ) -> ImagePoint:
        """In the encoding thread: the record composed from the analysis, the thumbnail
        written (before the point: a point always has one), the point embedded."""
        pid = point_id(found.sha)
        payload = image_record(
            self.describer, analysis, image,
            profile=self.profile, alt_profile=self.alt_profile, sha256=found.sha,
            paths=paths, size_bytes=found.stat.st_size,
            described_at=described_at, embedding_model=self.embedding_model,
            decode_ms=found.decode_ms,
        )  # fmt: skip
        write_thumbnail(self.data_dir, pid, thumbnail)
        return self.points.point(pid, payload, image_vector(analysis[0].zero_shot))

    def _encoded(self) -> None:
        """Wait for the encoding thread: points to the batch, errors to their files."""
        failed: list[tuple[Read, Exception]] = []
        for found, point in self._encoding.take():
            if isinstance(point, Exception):
                failed.append((found, point))
            else:
                self._points.append(_Described(found.rel, point))
        for found, exc in failed:  # after the points are kept: a full disk raises here
            self._finished.append((found.rel, self._fail(found, exc)))

    def _flush(self) -> None:
        """Steps 3 and 4 for every file in the batch."""
        self._describe()
        self._encoded()
        written, self._points = self._points, []
        self._opened = None
        if not written:
            return
        try:
            self.space.ensure()
        except DiskFullError:
            self._points = written  # kept: written once space is back, if the process lives
            raise
        errors = self._write(written)
        # the embedder's buffers, sized to the batch's longest documents, go back to the
        # OS before the next batch's describing makes its own (the describer trims after
        # each image; this is the same for the writing side)
        release_freed_memory()
        for item in written:
            error = errors.get(item.rel, "")
            if not error:
                logger.info("indexed %s (%s)", item.rel, item.point.id)
            self._finished.append((item.rel, self._end(item.rel, "failed" if error else "described", error)))

    def _write(self, written: list[_Described]) -> dict[str, str]:
        """Upsert the batch's points in one call (one store flush); when that fails, each
        point alone, so the one the store refuses is found and the others are still
        stored. Returns path → reason for those that failed."""
        if len(written) > 1:
            try:
                self.store.upsert([item.point for item in written])  # step 3
                return {}
            except Exception as exc:
                _raise_if_full(self.space, exc)
                logger.warning(
                    "writing %d points at once failed (%s); writing them one by one", len(written), exc
                )
        errors = {}
        for item in written:
            try:
                self.store.upsert([item.point])
            except Exception as exc:
                _raise_if_full(self.space, exc)
                logger.exception("failed to index %s", item.rel)
                errors[item.rel] = failure_reason(exc)
        return errors

    def _broken(self, rel: str, exc: Exception) -> Outcome:
        """Failed for a reason no file should cause: recorded as failed with the reason (so
        it shows, and a change to the file retries it), the rest of the batch goes on."""
        _raise_if_full(self.space, exc)
        logger.error("failed to index %s", rel, exc_info=exc)
        try:
            self.state.fail_new(rel, 0, 0, "", failure_reason(exc, str(self.root / rel), rel))
        except Exception:  # the journal itself is failing: the file stays as it was
            logger.exception("cannot record the failure of %s", rel)
        return "failed"

    def _fail(self, found: Read, exc: Exception) -> Outcome:
        _raise_if_full(self.space, exc)
        full = self.root / found.rel
        if isinstance(exc, PARTIAL_FILE_ERRORS) and self.files.still_written(
            full, found.stat, self.settle_seconds
        ):
            return self._end(found.rel, "changing")  # a slow writer paused longer than the quiet interval
        error = failure_reason(exc, str(full), found.rel)
        if isinstance(exc, ImageError):
            logger.warning("failed to index %s: %s", found.rel, error)
        else:
            logger.error("failed to index %s: %s", found.rel, error, exc_info=exc)
        return self._end(found.rel, "failed", error)

    def _end(self, rel: str, outcome: Outcome, error: str = "") -> Outcome:
        """Step 4 for one file (or, for a file still being written, undo step 1's count)."""
        state = self.state
        if outcome == "changing":
            state.undo_attempt(rel)
            return outcome  # stays pending; the watcher or a restart picks it up again
        try:
            self.files.sync_stale(rel)
        except Exception as exc:
            _raise_if_full(self.space, exc)
            logger.exception("cannot update old store entries for %s", rel)
            state.finish(rel, FAILED, failure_reason(exc), clear_stale=False)
            return "failed"
        state.finish(rel, FAILED if error else INDEXED, error)
        return outcome


def _raise_if_full(space: DiskGuard, exc: BaseException) -> None:
    """A write that failed for lack of space stops the batch (its rows stay pending)
    rather than failing the file it was for."""
    if is_out_of_space(exc):
        raise DiskFullError(space.now()) from exc


def index_paths(
    indexer: Indexer, rel_paths: Iterable[str], settle_seconds: float = 0.0
) -> Iterator[tuple[str, Outcome]]:
    """Index paths in batches, reading ahead; yields each path once its outcome is final.
    `settle_seconds`: a file that cannot be decoded and was modified less than this long
    ago is taken to be still being written (pending, "changing"), not broken."""
    batch = Batch(indexer, settle_seconds=settle_seconds)
    try:
        with ReadAhead(indexer.prepare, batch.read_ahead) as ahead:
            for rel in rel_paths:
                ahead.submit(rel)
                if ahead.full():
                    yield from batch.add(ahead.next())
            while ahead:
                yield from batch.add(ahead.next())
        yield from batch.flush()
    finally:
        batch.close()


def index_file(indexer: Indexer, rel_path: str, settle_seconds: float = 0.0) -> Outcome:
    """Index one path now (a batch of one)."""
    return dict(index_paths(indexer, [rel_path], settle_seconds))[rel_path]
