"""Bring the state in line with the folder after a stop (or a crash).

Compares a walk of the folder with the state table: new files, changed files
(size/mtime differ; re-hashed, and same bytes only update the stats), deleted
files, moves (a deleted path's bytes reappear at a new path: the point's
paths are updated, nothing is described), and rows a crash left pending.

A row left pending means the process stopped while that file was being
described. That is rarely the file's fault (a kill, a power cut, a reboot), so
it is never marked failed for it: it is retried, and after repeated stops with
a growing delay (`crash_backoff`), so that a file which really does crash the
decoder cannot keep the rest of the folder from being indexed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from catalog.names import storable
from catalog.space import is_out_of_space
from catalog.store.base import point_id
from describe.files import is_hidden, looks_like_image
from indexer.batch import index_file
from indexer.pipeline import Indexer, file_sha256, is_ignored, resolves_within
from indexer.state import FAILED, INDEXED, PENDING, FileRow

logger = logging.getLogger(__name__)

#: Retry delay after the second stop while describing the same file, doubling with
#: each further stop up to CRASH_BACKOFF_MAX seconds.
CRASH_BACKOFF_BASE = 30.0
CRASH_BACKOFF_MAX = 3600.0
#: Older versions marked such files failed with this reason; they are retried now.
GAVE_UP = "gave up after "


@dataclass
class Reconciled:
    to_index: list[str] = field(default_factory=list)
    # path → seconds to wait first: rows the process stopped on more than once
    deferred: dict[str, float] = field(default_factory=dict)
    moved: int = 0
    removed: int = 0
    touched: int = 0  # same bytes, new size/mtime


def crash_backoff(attempts: int) -> float:
    """Seconds to wait before trying a file again that `attempts` tries in a row
    did not finish: none after one stop, then 30 s, 60 s, … up to an hour."""
    if attempts <= 1:
        return 0.0
    return min(CRASH_BACKOFF_BASE * 2.0 ** (attempts - 2), CRASH_BACKOFF_MAX)


def scan(root: Path, within: Path | None = None) -> dict[str, tuple[int, int]]:
    """Image files under root (relative POSIX path → (size, mtime_ns)); hidden
    files and folders are skipped, and so are temp names of files being written.
    Symlinks count only when their target is inside `within` (the watched folder,
    default root); folder links are not walked (os.walk's default)."""
    boundary = (within or root).resolve()
    found: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(Path(d)))
        base = Path(dirpath)
        for name in filenames:
            path = base / name
            rel = path.relative_to(root).as_posix()
            if not looks_like_image(path) or is_ignored(rel):
                continue
            if path.is_symlink() and not resolves_within(path, boundary):
                continue
            try:
                st = path.stat()
            except OSError:  # vanished between listing and stat
                continue
            if path.is_file():
                found[rel] = (st.st_size, st.st_mtime_ns)
    return found


def reconcile(indexer: Indexer) -> Reconciled:
    result = Reconciled()
    state = indexer.state
    if not indexer.root.is_dir():
        # an unmounted drive must not read as "every file was deleted"
        logger.error("watched folder %s is missing; leaving the index as it is", indexer.root)
        return result
    disk = scan(indexer.root)
    # rows under the name as it is on disk: a name that is not UTF-8 is kept escaped
    # (state.storable), and every state call maps it the same way
    on_disk = {storable(p): p for p in disk}
    rows = {on_disk.get(row.path, row.path): row for row in state.rows()}
    for lost in _lost_points(indexer, rows):
        path = on_disk.get(lost, lost)
        if path in disk:
            state.requeue(path)
            rows[path] = replace(rows[path], status=PENDING)
    new = sorted(p for p in disk if p not in rows)
    gone = sorted(p for p in rows if p not in disk)

    for path in sorted(disk.keys() & rows.keys()):
        row, (size, mtime_ns) = rows[path], disk[path]
        # older versions failed files for a crash loop or a full disk: neither is the file's fault
        if row.status == FAILED and (row.error.startswith(GAVE_UP) or is_out_of_space(Exception(row.error))):
            state.requeue(path)
            row = rows[path] = replace(row, status=PENDING)
        if row.status == PENDING:
            wait = _backoff_left(row) if row.same_stat(size, mtime_ns) else 0.0
            if wait > 0:
                result.deferred[path] = wait
                logger.warning(
                    "%s: the indexer stopped %d times while describing it; retrying in %.0f s",
                    path, row.attempts, wait,
                )  # fmt: skip
            else:
                result.to_index.append(path)
        elif not row.same_stat(size, mtime_ns):
            # a touch: the hash is read only when the row could hold the content
            if row.holds(row.sha256) and _hash(indexer.root / path) == row.sha256:
                state.update_stats(path, size, mtime_ns)
                result.touched += 1
            else:
                result.to_index.append(path)

    # Moves: only a new file of the same size as a deleted one can hold its bytes,
    # so only those are hashed here. Linking before removing keeps the point alive.
    gone_by_size: dict[int, set[str]] = {}
    for path in gone:
        if rows[path].status == INDEXED:
            gone_by_size.setdefault(rows[path].size, set()).add(rows[path].sha256)
    for path in new:
        shas = gone_by_size.get(disk[path][0])
        if shas and _hash(indexer.root / path) in shas and index_file(indexer, path) == "linked":
            result.moved += 1
        else:
            result.to_index.append(path)

    for path in gone:
        indexer.remove_path(path)
        result.removed += 1
    result.to_index.sort()
    logger.info(
        "reconciled %s: %d to index, %d moved, %d removed, %d touched",
        indexer.root, len(result.to_index), result.moved, result.removed, result.touched,
    )  # fmt: skip
    return result


def _lost_points(indexer: Indexer, rows: dict[str, FileRow]) -> list[str]:
    """Indexed paths whose point is not in the store: the store was wiped or recreated
    (a new embedding size), or a server URL now points at an empty collection.
    Only scrolls the store when it holds fewer points than the state expects."""
    expected: dict[str, list[str]] = {}
    for row in rows.values():
        if row.status == INDEXED:
            expected.setdefault(point_id(row.sha256), []).append(row.path)
    if not expected or indexer.store.count() >= len(expected):
        return []
    present = {pid for pid, _ in indexer.store.scroll()}
    lost = sorted(p for pid, paths in expected.items() if pid not in present for p in paths)
    logger.warning("%d indexed files have no entry in the store; indexing them again", len(lost))
    return lost


def _backoff_left(row: FileRow) -> float:
    """Seconds until a pending row may be tried again, counted from its last try."""
    try:
        started = datetime.fromisoformat(row.updated_at.replace("Z", "+00:00"))
    except ValueError:
        return crash_backoff(row.attempts)
    elapsed = (datetime.now(UTC) - started).total_seconds()
    return max(0.0, crash_backoff(row.attempts) - elapsed)


def _hash(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError:
        return ""
