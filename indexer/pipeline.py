"""One file → one store point: the read side and the per-file decisions.

`Indexer.prepare` does everything that only reads (stat, hash, decode), so it can
run ahead of inference in a thread; every write (the state rows, thumbnails, store
points) is made by one thread, in batches, in the order indexer/batch.py sets out,
which makes a kill at any moment lose nothing and duplicate nothing. Point ids are
derived from the sha256, so a redo overwrites. Removal runs the other way round:
fix the point first, delete the row last, so a killed removal leaves a row for a
missing file, which reconcile removes again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from catalog.curate import Curator, curated_encoder
from catalog.edits import EditStore
from catalog.embed import TextEmbedder
from catalog.families.groups import Families
from catalog.names import storable
from catalog.points import reembedded
from catalog.space import DiskGuard
from catalog.store.base import Store, StoredImage, point_id
from catalog.thumbs import delete_thumbnail, thumbnail_bytes, thumbnail_path
from describe.describer import Describer
from describe.errors import CorruptImageError, EmptyFileError, ImageError, NotAnImageError
from describe.files import is_hidden
from describe.intake import PreparedImage, load_image
from indexer.records import ALT_PROFILE
from indexer.state import FAILED, INDEXED, PENDING, open_journal, utc_now
from indexer.status import Failure, IndexStatus

logger = logging.getLogger(__name__)

Outcome = Literal["described", "linked", "unchanged", "skipped", "changing", "missing", "failed"]
# Names that browsers, editors and copy tools use while a file is still being written.
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".swp", "~")
_CHUNK = 1 << 20


def is_ignored(rel_path: str) -> bool:
    """Hidden files or folders anywhere in the path, and in-progress temp files."""
    parts = PurePosixPath(rel_path).parts
    return any(is_hidden(Path(p)) for p in parts) or rel_path.lower().endswith(TEMP_SUFFIXES)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# What a half-written file decodes as: nothing yet, no header yet, or a cut-off body.
PARTIAL_FILE_ERRORS = (EmptyFileError, NotAnImageError, CorruptImageError)


def failure_reason(exc: BaseException, *paths: str) -> str:
    """One line for people: ImageErrors already carry one; others get their type.
    The file is listed beside its reason, so a leading "path: " is dropped."""
    text = exc.message if isinstance(exc, ImageError) else f"{type(exc).__name__}: {exc}"
    for path in paths:
        text = without_path(text, path)
    return " ".join(text.split())[:500]


def resolves_within(path: Path, folder: Path) -> bool:
    """Whether `path`, its symlinks followed, lies inside `folder` (already resolved)."""
    try:
        return path.resolve().is_relative_to(folder)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def without_path(reason: str, path: str) -> str:
    prefix = f"{path}: "
    return reason[len(prefix) :] if reason.startswith(prefix) else reason


@dataclass(frozen=True)
class Skipped:
    """Settled without a look at the file: an ignored or non-regular file ("skipped"), a
    vanished one ("missing"), or a link that now leads out of the folder ("outside")."""

    rel: str
    why: Literal["skipped", "missing", "outside"]


@dataclass(frozen=True)
class Unchanged:
    """Its row says indexed (or failed) at this size and mtime: nothing was read."""

    rel: str
    stat: os.stat_result


@dataclass(frozen=True)
class Unreadable:
    """Stat worked, reading the bytes did not (permissions, I/O, deleted meanwhile)."""

    rel: str
    stat: os.stat_result
    error: OSError


@dataclass
class Read:
    """Hashed; decoded ahead when a description or a thumbnail will need it."""

    rel: str
    stat: os.stat_result
    sha: str
    changed: bool = False  # size or mtime moved while it was hashed: still being written
    image: PreparedImage | None = None
    thumbnail: bytes = b""  # encoded from `image` ahead, with it
    decode_error: Exception | None = None
    decode_ms: float = 0.0


@dataclass(frozen=True)
class Broken:
    """The read side failed in a way no file should make it fail (a bug, a journal error):
    that file is recorded failed with the reason, and the files around it go on."""

    rel: str
    error: Exception


# What the read side found for one path; the writing side decides from it (batch.py).
Prepared = Skipped | Unchanged | Unreadable | Read | Broken


class Indexer:
    def __init__(
        self,
        root: str | Path,
        data_dir: str | Path,
        describer: Describer,
        embedder: TextEmbedder,
        store: Store,
        profile: str | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.data_dir = Path(data_dir)
        self.describer = describer
        self.embedder = embedder
        self.store = store
        self.profile = describer.profiles.get(profile or describer.settings.profile)
        self.alt_profile = describer.profiles.get(ALT_PROFILE)
        self.state = open_journal(self.data_dir)  # a damaged one is moved aside and rebuilt
        # when writes must stop for lack of space (the store's folder: its holes count on tmpfs)
        self.space = DiskGuard(self.data_dir, store_dir=self.data_dir / "qdrant")
        # people's edits, kept apart from the journal and the store (catalog/edits.py): every
        # point this indexer writes carries its content's edit, and a file replaced by new
        # bytes hands its edit on to them
        self.edits = EditStore(self.data_dir)
        self.points = curated_encoder(embedder, self.edits, replaced=self.replaced_contents)
        self.curator = Curator(store, self.points)
        # near-duplicates and variants (catalog/families/): each point written is placed
        self.families = Families(store, self.data_dir)

    def close(self) -> None:
        self.state.close()
        self.edits.close()
        self.families.close()

    def rel(self, path: str | Path) -> str:
        # abspath, not resolve(): a symlink inside the folder must keep its own name
        return Path(os.path.abspath(path)).relative_to(self.root).as_posix()  # noqa: PTH100

    def inside_root(self, path: Path) -> bool:
        """Whether a path, with its symlinks followed, stays inside the watched folder.
        Links that leave it are not indexed: their /file could not be served, and the
        folder is what the user chose to share with the catalog."""
        return resolves_within(path, self.root)

    # --- indexing -------------------------------------------------------------------

    def prepare(self, rel_path: str) -> Prepared:
        """The read side of one path (see _prepare); never raises for one file's sake."""
        try:
            return self._prepare(rel_path)
        except Exception as exc:
            logger.exception("cannot read %s", rel_path)
            return Broken(rel_path, exc)

    def _prepare(self, rel_path: str) -> Prepared:
        """The read side of one path: stat, hash, and decode when the content will need
        describing or a thumbnail. Writes nothing, so it can run in another thread."""
        if is_ignored(rel_path):
            return Skipped(rel_path, "skipped")
        full = self.root / rel_path
        try:
            st = full.stat()
        except FileNotFoundError:
            return Skipped(rel_path, "missing")
        if not full.is_file():
            return Skipped(rel_path, "skipped")
        if not self.inside_root(full):
            return Skipped(rel_path, "outside")
        row = self.state.get(rel_path)
        if row and row.settled_at(st.st_size, st.st_mtime_ns):
            return Unchanged(rel_path, st)
        try:
            found = Read(rel_path, st, file_sha256(full))
        except OSError as exc:
            return Unreadable(rel_path, st, exc)
        found.changed = self.changed_since(full, st)
        if found.changed or (row and row.holds(found.sha)):
            return found
        pid = point_id(found.sha)
        if self.store.get(pid) is None or not thumbnail_path(self.data_dir, pid).exists():
            self._decode(found)
        return found

    def decode(self, found: Read) -> PreparedImage:
        """The working copy of the file, decoded once (here, unless prepare did)."""
        self._decode(found)
        if found.decode_error is not None:
            raise found.decode_error
        assert found.image is not None
        return found.image

    def _decode(self, found: Read) -> None:
        """Decode into `found`, keeping an error for the writing side to record."""
        if found.image is not None or found.decode_error is not None:
            return
        start = time.perf_counter()
        try:
            found.image = load_image(self.root / found.rel, self.describer.settings.limits, name=found.rel)
            found.thumbnail = thumbnail_bytes(found.image.image)
        except Exception as exc:
            found.decode_error = exc
        found.decode_ms = round((time.perf_counter() - start) * 1000, 1)

    def changed_since(self, full: Path, st: os.stat_result) -> bool:
        """True when the file is still being written (size or mtime moved under us)."""
        try:
            now = full.stat()
        except FileNotFoundError:
            return True
        return (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns)

    def still_written(self, full: Path, st: os.stat_result, settle_seconds: float) -> bool:
        """After a decode failure: the file moved under us, or was written very recently."""
        return self.changed_since(full, st) or time.time() - st.st_mtime < settle_seconds

    # --- keeping points' paths in line with the state table -------------------------

    def sync_point(self, sha: str, exclude: str | None = None) -> None:
        """Make the point's paths equal the state table's; delete it when none are left."""
        pid = point_id(sha)
        left_out = None if exclude is None else storable(exclude)  # as the journal spells it
        paths = [p for p in self.state.paths_for(sha) if p != left_out]
        exists = self.store.get(pid) is not None
        if not paths:
            if exists:
                self.store.delete([pid])
                self.families.remove(pid)
            delete_thumbnail(self.data_dir, pid)
        elif exists:
            self.store.set_paths(pid, paths)

    def sync_stale(self, rel_path: str) -> None:
        """After the path's point was written: older contents' points drop the path, and the
        point of its content is rewritten if a person's edit came in while it was written."""
        row = self.state.get(rel_path)
        for sha in row.stale if row else ():
            self.sync_point(sha)
        if row and row.sha256:
            self.curator.settle(row.sha256)
            pid = point_id(row.sha256)
            if (record := self.store.get(pid)) is not None:
                self.families.place(pid, record)

    def replaced_contents(self, payload: StoredImage) -> list[str]:
        """The older contents of a payload's paths, their points not yet told (the row's
        `stale`): a file replaced by these bytes, whose edit the new content takes over."""
        return [sha for path in payload.paths if (row := self.state.get(path)) for sha in row.stale]

    def remove_path(self, rel_path: str) -> None:
        row = self.state.get(rel_path)
        if row is None:
            return
        for sha in {row.sha256, *row.stale} - {""}:
            self.sync_point(sha, exclude=rel_path)
        self.state.delete(rel_path)  # last: until here a restart would redo the removal
        logger.info("removed %s", rel_path)

    # --- model changes and status -----------------------------------------------------

    def reembed_images(self) -> int:
        """With a SigLIP tagger active, give points from before it (or from another of its
        models) an image vector, reading their files again without describing them."""
        from catalog.factory import active_tagger
        from indexer.image_vectors import reembed_images

        tagger = active_tagger(self.describer)
        if tagger is None:
            return 0
        return reembed_images(self.store, self.root, tagger, self.describer.settings.limits)

    def group_images(self) -> int:
        """Fingerprint points from before fingerprints were kept, then place every image not
        yet in its near-duplicate and variant groups (indexer/fingerprints.py)."""
        from indexer.fingerprints import group_images

        return group_images(
            self.families, self.store, self.root, self.describer.settings.limits, self.edits.lock
        )

    def reembed_all(self, batch: int = 64) -> int:
        """Re-embed points written with another embedding model, from their stored
        text: no image is opened and nothing is described again."""
        stale = [(pid, p) for pid, p in self.store.scroll() if p.embedding_model != self.embedder.name]
        for start in range(0, len(stale), batch):
            chunk = stale[start : start + batch]
            now = utc_now()
            kept = self.store.image_vectors([pid for pid, _ in chunk])  # an upsert replaces every vector
            fresh = [(pid, reembedded(p, self.embedder.name, now)) for pid, p in chunk]
            with self.edits.lock:  # no person's edit lands between the encoding and the upsert
                self.store.upsert(self.points.points(fresh, kept))
        if stale:
            logger.info("re-embedded %d images with %s", len(stale), self.embedder.name)
        self.state.set_meta("embedding_model", self.embedder.name)
        return len(stale)

    def needs_reembed(self) -> bool:
        return self.state.get_meta("embedding_model") != self.embedder.name

    def status(self, max_failures: int = 50) -> IndexStatus:
        counts = self.state.counts()
        return IndexStatus(
            indexed=counts[INDEXED],
            images=self.state.indexed_images(),
            pending=counts[PENDING],
            failed=counts[FAILED],
            failures=[
                Failure(path=r.path, error=without_path(r.error, r.path), updated_at=r.updated_at)
                for r in self.state.failures(max_failures)
            ],
            watching=str(self.root),
        )
