"""What people changed about the catalog: one `Edit` per image content (sha256), kept in
its own SQLite file, `edits.sqlite`, beside the index journal and the store.

Apart on purpose: the journal (`index.sqlite`) and the store can both be moved aside and
rebuilt from the folder, but a person's words cannot be found again, so they live where
neither rebuild reaches. Every point written (catalog/curate.py's `CuratedEncoder`)
takes its content's edit from here, so a new description, a re-embedding or a rebuilt
store keeps it; `apply` is the one rule that turns the machine's record and an edit into
what search and the pages see.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec
from msgspec.structs import replace

from catalog.sqlite_file import open_db, utc_now
from catalog.store.base import Edit, StoredImage
from describe.errors import ImgdescError
from describe.facts import Tag
from describe.knowledge.vocabulary import normalise_tag

# the source of a tag a person added (describe/render/tags.py names the machine's)
USER_SOURCE = "user"
MAX_TAG = 64  # characters of one tag, after normalising
MAX_DESCRIPTION = 5000  # characters: a long paragraph, far beyond any describer's

_SCHEMA = "CREATE TABLE IF NOT EXISTS edits (sha256 TEXT PRIMARY KEY, edit BLOB NOT NULL)"


class EditError(ImgdescError):
    """An edit that cannot be made as asked (an empty or over-long tag or description)."""

    status_code = 400


class EditsDamagedError(ImgdescError):
    """edits.sqlite cannot be read. Unlike the journal it is never moved aside and
    rebuilt: it holds what people wrote, which nothing else can give back."""

    status_code = 503

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"the edits file {path} cannot be read ({' '.join(reason.split())[:200]}); it holds what "
            "people changed in the catalog and is not rebuilt: restore it from a backup, or move it "
            "aside to start without those edits",
            {"path": str(path)},
        )


class Patch(msgspec.Struct, kw_only=True):
    """One change asked for: tags to add and to remove, and the description (a string to
    set, None to go back to the machine's text, UNSET to leave it as it is)."""

    add_tags: list[str] = []
    remove_tags: list[str] = []
    description: str | msgspec.UnsetType | None = msgspec.UNSET


def clean_tag(raw: str) -> str:
    """A tag as the describer writes one (lower-case, singular, synonyms merged), so an
    added tag is found by the same filter as the machine's."""
    tag = normalise_tag(raw)
    if not tag:
        raise EditError(f"tag {raw!r} is empty once normalised (spaces and underscores only)")
    stripped = raw.strip()
    if len(stripped) > MAX_TAG:
        raise EditError(f"tag {stripped[:20]!r}… is {len(stripped)} characters, over the {MAX_TAG} limit")
    return tag


def clean_patch(patch: Patch) -> Patch:
    """The patch with its tags normalised and its description stripped (blank: back to the
    machine's text); EditError naming every bad item. A tag both added and removed ends up
    removed: adds are applied first (see `merged`)."""
    problems: list[str] = []

    def tags(raw: Sequence[str]) -> list[str]:
        kept = []
        for item in raw:
            try:
                kept.append(clean_tag(item))
            except EditError as exc:
                problems.append(exc.message)
        return list(dict.fromkeys(kept))

    add, remove = tags(patch.add_tags), tags(patch.remove_tags)
    description = patch.description
    if isinstance(description, str):
        description = description.strip() or None
        if description is not None and len(description) > MAX_DESCRIPTION:
            problems.append(
                f"the description is {len(description)} characters, over the {MAX_DESCRIPTION} limit"
            )
    if problems:
        raise EditError("; ".join(problems), {"problems": problems})
    return Patch(add_tags=add, remove_tags=remove, description=description)


def machine_tags(record: StoredImage) -> list[str]:
    """What the machine tagged: a payload from before edits existed has only `tags`."""
    return list(record.machine_tags if record.machine_tags or record.edit is not None else record.tags)


def machine_description(record: StoredImage) -> str:
    return (
        record.machine_description
        if record.machine_description or record.edit is not None
        else record.description
    )


def _changes(edit: Edit | None) -> tuple[object, ...]:
    """What an edit says, without who and when: equal means nothing changed."""
    return (
        (None, (), ()) if edit is None else (edit.description, tuple(edit.add_tags), tuple(edit.remove_tags))
    )


def merged(edit: Edit | None, patch: Patch, said: Iterable[str], edited_by: str | None = None) -> Edit | None:
    """`edit` with a clean patch on top; None or `edit` itself when nothing changes.
    Adding a tag takes it off the removed ones and removing takes it off the added ones;
    a removed tag the machine never said (`said`) is only taken off the added ones."""
    said = set(said)
    base = edit or Edit()
    add, remove = list(base.add_tags), list(base.remove_tags)
    for tag in patch.add_tags:
        remove = [t for t in remove if t != tag]
        if tag not in add:
            add.append(tag)
    for tag in patch.remove_tags:
        add = [t for t in add if t != tag]
        if tag in said and tag not in remove:
            remove.append(tag)
    description = base.description if patch.description is msgspec.UNSET else patch.description
    fresh = replace(base, add_tags=add, remove_tags=remove, description=description)
    if _changes(fresh) == _changes(edit):
        return edit
    return replace(fresh, edited_by=edited_by, edited_at=utc_now())


def apply(record: StoredImage, edit: Edit | None) -> StoredImage:
    """The record as search and the pages see it: the person's description when set, the
    machine's tags minus the removed plus the added (source `user`), the machine's own
    text and tags kept beside them. Pure, and the same whatever edit the record had: it
    starts from the machine's fields every time."""
    description, said = machine_description(record), machine_tags(record)
    details = {t.name: t for t in record.tag_details if t.source != USER_SOURCE}
    added: set[str] = set()
    tags = said
    if edit is not None:
        removed, added = set(edit.remove_tags), set(edit.add_tags)
        tags = list(dict.fromkeys([t for t in said if t not in removed] + edit.add_tags))
        if edit.description is not None:
            description = edit.description
    # a machine tag without details (a payload from before they were kept) stays out of them
    tag_details = [details.get(t) or Tag(t, USER_SOURCE, 1.0) for t in tags if t in details or t in added]
    return replace(
        record,
        description=description,
        tags=tags,
        tag_details=tag_details,
        machine_description=machine_description(record),
        machine_tags=said,
        edit=edit,
    )


class EditStore:
    """One row per content, the Edit as JSON. One connection shared by the threads that
    edit (request threads, the indexer's worker), serialised by `lock`, which the
    Curator also holds while it writes an edited point (catalog/curate.py)."""

    FILENAME = "edits.sqlite"

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / self.FILENAME
        # re-entrant: the Curator holds it around merge() and the point write
        self.lock = threading.RLock()
        # FULL, not the journal's NORMAL: an edit is a person's work that no re-index can
        # redo, and edits are rare, so each one's fsync costs nothing anyone notices
        self._db = open_db(
            self.path,
            _SCHEMA,
            lambda reason: EditsDamagedError(self.path, reason),
            synchronous="FULL",
            quick_check=True,
        )

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def get(self, sha256: str) -> Edit | None:
        with self.lock:
            row = self._db.execute("SELECT edit FROM edits WHERE sha256 = ?", (sha256,)).fetchone()
        return msgspec.json.decode(row[0], type=Edit) if row else None

    def put(self, sha256: str, edit: Edit) -> None:
        data = msgspec.json.encode(edit)
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO edits (sha256, edit) VALUES (?, ?)", (sha256, data))

    def __len__(self) -> int:
        with self.lock:
            return int(self._db.execute("SELECT COUNT(*) FROM edits").fetchone()[0])

    def merge(
        self, sha256: str, patch: Patch, said: Iterable[str], edited_by: str | None = None
    ) -> Edit | None:
        """Put a clean patch on top of the content's edit (see `merged`; `said`: the
        machine's tags); returns the edit now held, None when there is none."""
        with self.lock:  # read-then-write
            before = self.get(sha256)
            after = merged(before, patch, said, edited_by)
            if after is not None and after is not before:
                self.put(sha256, after)
            return after

    def carry(self, old_sha256: str, new_sha256: str) -> Edit | None:
        """A file replaced by new bytes at the same path: the new content takes the old
        one's edit (naming it in `carried_from`), unless it has one of its own."""
        with self.lock:
            held = self.get(new_sha256)
            if held is not None:
                return held
            old = self.get(old_sha256)
            if old is None:
                return None
            carried = replace(old, carried_from=old.carried_from or old_sha256)
            self.put(new_sha256, carried)
            return carried
