"""The small SQLite files in the data folder (the index journal, people's edits, the
duplicate groups, the accounts) open the same way: one autocommit connection shared by
threads behind their owner's lock, WAL, a busy timeout, the schema, and — for the files
whose damage must be found at once — `PRAGMA quick_check`. Damage is raised as the
owner's own error, which names the file and its remedy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path


def utc_now() -> str:
    """ISO 8601 in UTC to the second, as every record of the catalog writes it."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def open_db(
    path: Path,
    schema: str,
    damaged: Callable[[str], Exception],
    *,
    synchronous: str | None = None,
    quick_check: bool = False,
) -> sqlite3.Connection:
    """A connection to `path` with `schema` (a script) in place. Autocommit: every
    statement is its own durable transaction, so the order the caller writes in is the
    order that reaches the disk. `synchronous`: NORMAL or FULL (None: SQLite's default).
    `quick_check`: read every page now, since garbled pages open fine and fail later, one
    query at a time. A file SQLite cannot read raises `damaged(reason)`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except sqlite3.DatabaseError as exc:
        raise damaged(str(exc)) from None
    try:
        db.execute("PRAGMA journal_mode=WAL")
        if synchronous is not None:
            db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(schema)
        verdict = db.execute("PRAGMA quick_check").fetchone()[0] if quick_check else "ok"
    except sqlite3.DatabaseError as exc:
        db.close()
        raise damaged(str(exc)) from None
    if verdict != "ok":
        db.close()
        raise damaged(str(verdict))
    return db
