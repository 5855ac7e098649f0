"""What is kept of the families between runs, in `groups.sqlite` beside the journal and
the edits: people's decisions, and the links worked out so far.

- **Decisions**: which contents are hidden from search, and which were reviewed as a
  member of which kind of group. Keyed by sha256 like people's edits, so they follow the
  content through moves, copies, a rebuilt store and a rebuilt journal. A group counts as
  reviewed while every member was reviewed in that kind: a new copy joining it brings it
  back for review.
- **Links**: the pairs found near-duplicate or variant, and the images already placed.
  Derived (the store's payloads give them again), but finding them costs one index
  lookup per image, minutes for a first pass over 100,000: kept, so a restart places only
  what is new. Point ids are content hashes, so a link between two ids never goes stale;
  links are dropped when a rule changes (RULES_VERSION) and ignored for ids that left.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from catalog.sqlite_file import open_db, utc_now
from catalog.store.base import point_id
from describe.errors import ImgdescError

FILENAME = "groups.sqlite"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS placed (id TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS links (a TEXT NOT NULL, b TEXT NOT NULL, kind TEXT NOT NULL, "
    "PRIMARY KEY (a, b, kind))",
    "CREATE TABLE IF NOT EXISTS hidden (sha256 TEXT PRIMARY KEY, at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reviewed (sha256 TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, "
    "PRIMARY KEY (sha256, kind))",
)


class GroupsDamagedError(ImgdescError):
    """groups.sqlite cannot be read: it holds what people hid and reviewed."""

    status_code = 503

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"the groups file {path} cannot be read ({' '.join(reason.split())[:200]}); it holds which "
            "images people hid and which groups they reviewed: restore it from a backup, or move it "
            "aside to start without those decisions",
            {"path": str(path)},
        )


class SavedGroups:
    """One connection shared by the threads that use it, serialised by a lock."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / FILENAME
        self._lock = threading.Lock()
        schema = ";\n".join(_SCHEMA)
        self._db = open_db(self.path, schema, lambda reason: GroupsDamagedError(self.path, reason))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- derived: placed images and their links

    def start(self, rules_version: str) -> None:
        """Forget the links when they were found by other rules."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
            if row is None or row[0] != rules_version:
                with self._db:
                    self._db.execute("BEGIN")
                    self._db.execute("DELETE FROM placed")
                    self._db.execute("DELETE FROM links")
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES ('rules', ?)", (rules_version,))

    def placed(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM placed")}

    def links(self) -> Iterator[tuple[str, str, str]]:
        with self._lock:
            rows = self._db.execute("SELECT a, b, kind FROM links").fetchall()
        yield from rows

    def save_placed(self, ids: Iterable[str], links: Iterable[tuple[str, str, str]]) -> None:
        """Record images as placed, with the links found for them, in one transaction."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO placed VALUES (?)", [(i,) for i in ids])
            self._db.executemany(
                "INSERT OR IGNORE INTO links VALUES (?, ?, ?)",
                [(min(a, b), max(a, b), k) for a, b, k in links],
            )

    def forget(self, ids: Iterable[str]) -> None:
        """Images that left the store: their placement and links go."""
        rows = [(i,) for i in ids]
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM placed WHERE id = ?", rows)
            self._db.executemany("DELETE FROM links WHERE a = ?", rows)
            self._db.executemany("DELETE FROM links WHERE b = ?", rows)

    # -- people's decisions

    def hidden(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT sha256 FROM hidden")}

    def set_hidden(self, sha256s: Iterable[str], hidden: bool) -> None:
        shas = [(s,) for s in sha256s]
        with self._lock, self._db:
            self._db.execute("BEGIN")
            if hidden:
                now = utc_now()
                self._db.executemany(
                    "INSERT OR IGNORE INTO hidden VALUES (?, ?)", [(s, now) for (s,) in shas]
                )
            else:
                self._db.executemany("DELETE FROM hidden WHERE sha256 = ?", shas)

    def reviewed(self) -> set[tuple[str, str]]:
        """(sha256, kind) of every content reviewed as a member of that kind of group."""
        with self._lock:
            return {(row[0], row[1]) for row in self._db.execute("SELECT sha256, kind FROM reviewed")}

    def set_reviewed(self, sha256s: Iterable[str], kind: str, reviewed: bool) -> None:
        shas = list(sha256s)
        with self._lock, self._db:
            self._db.execute("BEGIN")
            if reviewed:
                now = utc_now()
                self._db.executemany(
                    "INSERT OR REPLACE INTO reviewed VALUES (?, ?, ?)", [(s, kind, now) for s in shas]
                )
            else:
                self._db.executemany(
                    "DELETE FROM reviewed WHERE sha256 = ? AND kind = ?", [(s, kind) for s in shas]
                )


def hidden_ids(data_dir: str | Path) -> frozenset[str]:
    """The point ids of the contents hidden from search, read from the data folder's
    groups.sqlite (none when there is none yet: nothing is created); for a search that holds
    no Families (the CLI's own, over a catalog no server holds)."""
    path = Path(data_dir) / FILENAME
    if not path.is_file():
        return frozenset()
    saved = SavedGroups(data_dir)
    try:
        return frozenset(point_id(sha) for sha in saved.hidden())
    finally:
        saved.close()
