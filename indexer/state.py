"""Durable indexer state: one SQLite row per file under the watched folder.

This table is the source of truth for path → content (sha256). A store point
(id = point_id(sha256)) carries a `paths` list that is always derived from
here, never the other way round, so the store can be rebuilt from this table
plus the files, and a crash can only leave rows that say "pending".

Besides the path's own sha256, a row keeps `stale`: the hashes of older
contents whose store points may still list this path (the file changed, and
the old point has not been told yet). They are cleared once those points are
synced, which makes a content change safe to interrupt at any moment.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.names import storable
from catalog.sqlite_file import open_db, utc_now
from describe.errors import ImgdescError

logger = logging.getLogger(__name__)

PENDING, INDEXED, FAILED = "pending", "indexed", "failed"
STATUSES = (PENDING, INDEXED, FAILED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'indexed', 'failed')),
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    stale TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256);
CREATE INDEX IF NOT EXISTS files_status ON files (status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = "path, size, mtime_ns, sha256, status, error, attempts, stale, updated_at"


@dataclass(frozen=True)
class FileRow:
    path: str  # relative to the watched root, POSIX separators
    size: int
    mtime_ns: int
    sha256: str
    status: str
    error: str
    attempts: int
    stale: tuple[str, ...]
    updated_at: str

    def same_stat(self, size: int, mtime_ns: int) -> bool:
        return self.size == size and self.mtime_ns == mtime_ns

    def settled_at(self, size: int, mtime_ns: int) -> bool:
        """Nothing to do without reading the file: indexed, or failed and not changed since
        (a failed file is retried when it changes), at the size and mtime it had then."""
        return self.status != PENDING and self.same_stat(size, mtime_ns)

    def holds(self, sha256: str) -> bool:
        """Indexed with this content and nothing in its point to bring up to date: a touch
        or a copy back of the same bytes needs no describing."""
        return self.status == INDEXED and self.sha256 == sha256 and not self.stale


def _row(values: Any) -> FileRow:
    path, size, mtime_ns, sha, status, error, attempts, stale, updated = values
    return FileRow(
        path, size, mtime_ns, sha, status, error, attempts, tuple(s for s in stale.split(",") if s), updated
    )


def _storable(args: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(storable(a) if isinstance(a, str) else a for a in args)


class JournalDamagedError(ImgdescError):
    """The index journal cannot be read. Moving it aside loses nothing that cannot be
    found again: the next start indexes the folder into a new journal, and images the
    store already holds are linked to their files, not described again."""

    status_code = 503

    def __init__(self, path: Path, reason: str) -> None:
        reason = " ".join(reason.replace("*** in database main ***", "").split())[:200]
        super().__init__(
            f"the index journal {path} is damaged ({reason}); move it aside with its -wal and "
            f"-shm files (mkdir {path.parent}/damaged && mv {path}* {path.parent}/damaged/) and "
            "start again: the folder is indexed into a new journal, and images already in the "
            "store are not described again",
            {"path": str(path)},
        )


class IndexState:
    """One connection shared by the worker and request threads, serialised by a lock
    (SQLite connections are not safe to use from two threads at once)."""

    FILENAME = "index.sqlite"

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / self.FILENAME
        self._lock = threading.Lock()
        # autocommit, so the write order chosen by the pipeline is the order that reaches
        # the disk. NORMAL in WAL mode survives a killed process; only a power cut can drop
        # the last commits, and the pipeline's writes are idempotent, so that costs a redo.
        # quick_check reads every page but skips index cross-checks: milliseconds here.
        self._db = open_db(
            self.path,
            _SCHEMA,
            lambda reason: JournalDamagedError(self.path, reason),
            synchronous="NORMAL",
            quick_check=True,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _all(self, sql: str, args: tuple[object, ...] = ()) -> list[Any]:
        with self._lock:
            return list(self._db.execute(sql, _storable(args)).fetchall())

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> None:
        with self._lock:
            self._db.execute(sql, _storable(args))

    # --- queries ---------------------------------------------------------------

    def get(self, path: str) -> FileRow | None:
        rows = self._all(f"SELECT {_COLUMNS} FROM files WHERE path = ?", (path,))
        return _row(rows[0]) if rows else None

    def rows(self) -> list[FileRow]:
        return [_row(r) for r in self._all(f"SELECT {_COLUMNS} FROM files ORDER BY path")]

    def all_paths(self) -> list[str]:
        return [str(r[0]) for r in self._all("SELECT path FROM files ORDER BY path")]

    def paths_for(self, sha256: str) -> list[str]:
        """Every path whose current content is these bytes, whatever its status."""
        return [
            str(r[0]) for r in self._all("SELECT path FROM files WHERE sha256 = ? ORDER BY path", (sha256,))
        ]

    def with_status(self, status: str) -> list[FileRow]:
        return [
            _row(r)
            for r in self._all(f"SELECT {_COLUMNS} FROM files WHERE status = ? ORDER BY path", (status,))
        ]

    def counts(self) -> dict[str, int]:
        found = dict(self._all("SELECT status, COUNT(*) FROM files GROUP BY status"))
        return {s: int(found.get(s, 0)) for s in STATUSES}

    def indexed_images(self) -> int:
        """Distinct contents among the indexed files: one store point each, so this is
        what search counts (two copies of a photo are two files but one image)."""
        return int(self._all("SELECT COUNT(DISTINCT sha256) FROM files WHERE status = 'indexed'")[0][0])

    def failures(self, limit: int = 100) -> list[FileRow]:
        sql = f"SELECT {_COLUMNS} FROM files WHERE status = 'failed' ORDER BY updated_at DESC, path LIMIT ?"
        return [_row(r) for r in self._all(sql, (limit,))]

    def get_meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                  (key, value, value))  # fmt: skip

    # --- writes ----------------------------------------------------------------

    def begin(self, path: str, size: int, mtime_ns: int, sha256: str) -> FileRow:
        """Mark a path pending with its new content, before anything touches the store.
        An older content's hash moves to `stale`; attempts count tries of this version."""
        with self._lock:  # one connection, so the lock makes read-then-write atomic
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM files WHERE path = ?", _storable((path,))
            ).fetchone()
            old = _row(found) if found else None
            stale = set(old.stale) if old else set()
            if old and old.sha256 and old.sha256 != sha256:
                stale.add(old.sha256)
            stale.discard(sha256)
            attempts = old.attempts + 1 if old and old.same_stat(size, mtime_ns) else 1
            row = FileRow(
                path, size, mtime_ns, sha256, PENDING, "", attempts, tuple(sorted(stale)), utc_now()
            )
            self._db.execute(
                f"INSERT OR REPLACE INTO files ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _storable((row.path, row.size, row.mtime_ns, row.sha256, row.status, row.error, row.attempts,
                 ",".join(row.stale), row.updated_at)),
            )  # fmt: skip
            return row

    def finish(self, path: str, status: str, error: str = "", clear_stale: bool = True) -> None:
        assert status in (INDEXED, FAILED)
        # a success resets attempts: they count unfinished tries in a row, not a lifetime
        extra = (", stale = ''" if clear_stale else "") + (", attempts = 0" if status == INDEXED else "")
        self._run(
            f"UPDATE files SET status = ?, error = ?, updated_at = ?{extra} WHERE path = ?",
            (status, error, utc_now(), path),
        )

    def requeue(self, path: str) -> None:
        """Back to pending without touching anything else (its store point went missing)."""
        self._run("UPDATE files SET status = 'pending', updated_at = ? WHERE path = ?", (utc_now(), path))

    def undo_attempt(self, path: str) -> None:
        """The try that begin() counted did not describe the file because it was still
        being written: that is no sign of a crash, so it must not count as one."""
        self._run("UPDATE files SET attempts = MAX(attempts - 1, 0) WHERE path = ?", (path,))

    def fail_new(self, path: str, size: int, mtime_ns: int, sha256: str, error: str) -> None:
        """Record a file that failed before it could be marked pending (e.g. unreadable)."""
        self.begin(path, size, mtime_ns, sha256)
        self.finish(path, FAILED, error, clear_stale=False)

    def update_stats(self, path: str, size: int, mtime_ns: int) -> None:
        """Same bytes, new size/mtime record (a touch or a copy over itself)."""
        self._run("UPDATE files SET size = ?, mtime_ns = ?, updated_at = ? WHERE path = ?",
                  (size, mtime_ns, utc_now(), path))  # fmt: skip

    def delete(self, path: str) -> None:
        self._run("DELETE FROM files WHERE path = ?", (path,))


def open_journal(data_dir: str | Path) -> IndexState:
    """The journal, or — when it is damaged — a new one, the damaged files moved aside
    into data/index.damaged-<time>/ (never deleted). Nothing is lost that cannot be found
    again: the store's payloads hold every content's sha256, so the next reconcile hashes
    the folder's files and links each to its point without describing it again; only
    files the store does not hold are described. Failures and crash counts start over."""
    try:
        return IndexState(data_dir)
    except JournalDamagedError as damaged:
        path = Path(data_dir) / IndexState.FILENAME
        aside = path.parent / f"index.damaged-{utc_now().replace(':', '')}"
        aside.mkdir(parents=True, exist_ok=True)
        for part in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
            if part.exists():
                part.replace(aside / part.name)
        logger.error(
            "%s; moved it to %s and rebuilding it from the folder and the store", damaged.message, aside
        )
        return IndexState(data_dir)
