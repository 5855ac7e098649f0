"""One file → one store point: hash, describe, embed, thumbnail, upsert.

Write order (why a kill at any moment loses nothing and duplicates nothing):

1. the state row is marked *pending* with the new sha256 (an older content's
   hash is kept in the row's `stale` list) — before any store write;
2. the thumbnail is written atomically, then the point is upserted; its id is
   derived from the sha256, so a redo overwrites instead of duplicating, and
   its `paths` are read back from the state table, so they are complete;
3. points named in `stale` drop this path (or are deleted when no path is left);
4. the row is marked *indexed* (or *failed* with a reason) and `stale` cleared.

A restart finds the row still pending and runs the steps again: if step 2 had
finished, the point exists and only its paths are set (no second description).
Removal runs the other way round — fix the point first, delete the row last —
so a killed removal leaves a row for a missing file, which reconcile removes again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Literal

from describe.describer import Describer
from describe.errors import CorruptImageError, EmptyFileError, ImageError, NotAnImageError
from describe.files import is_hidden
from describe.intake import load_image
from indexer.embed import TextEmbedder
from indexer.points import PointEncoder, reembedded, stored_image
from indexer.state import FAILED, INDEXED, PENDING, IndexState, utc_now
from indexer.status import Failure, IndexStatus
from indexer.store.base import Store, point_id
from indexer.thumbs import delete_thumbnail, thumbnail_path, write_thumbnail

logger = logging.getLogger(__name__)

Outcome = Literal["described", "linked", "unchanged", "skipped", "changing", "missing", "failed"]
# Names that browsers, editors and copy tools use while a file is still being written.
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".download", ".swp", "~")
ALT_PROFILE = "alt"
_CHUNK = 1 << 20

try:
    DESCRIBER_VERSION = version("imgdesc")
except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
    DESCRIBER_VERSION = "0"


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


def _reason(exc: BaseException, *paths: str) -> str:
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
        self.state = IndexState(self.data_dir)
        self.points = PointEncoder(embedder)

    def close(self) -> None:
        self.state.close()

    def rel(self, path: str | Path) -> str:
        # abspath, not resolve(): a symlink inside the folder must keep its own name
        return Path(os.path.abspath(path)).relative_to(self.root).as_posix()  # noqa: PTH100

    # --- one file ----------------------------------------------------------------

    def inside_root(self, path: Path) -> bool:
        """Whether a path, with its symlinks followed, stays inside the watched folder.
        Links that leave it are not indexed: their /file could not be served, and the
        folder is what the user chose to share with the catalog."""
        return resolves_within(path, self.root)

    def index_file(self, rel_path: str, settle_seconds: float = 0.0) -> Outcome:
        """Index one path. `settle_seconds`: a file that cannot be decoded and was
        modified less than this long ago is taken to be still being written (pending,
        "changing"), not broken; the watcher passes its settle time, a one-shot run 0."""
        if is_ignored(rel_path):
            return "skipped"
        full = self.root / rel_path
        try:
            st = full.stat()
        except FileNotFoundError:
            self.remove_path(rel_path)
            return "missing"
        if not full.is_file():
            return "skipped"
        if not self.inside_root(full):
            self.remove_path(rel_path)  # a link that now points out of the folder: forget it
            return "skipped"
        row = self.state.get(rel_path)
        if row and row.status != PENDING and row.same_stat(st.st_size, st.st_mtime_ns):
            return "unchanged"  # indexed, or failed and not changed since: retried on change
        try:
            sha = file_sha256(full)
        except FileNotFoundError:
            return "changing"  # deleted while we read it; its deletion event follows
        except OSError as exc:  # unreadable (permissions, I/O): record it, carry on
            self.state.fail_new(rel_path, st.st_size, st.st_mtime_ns, "", _reason(exc, str(full), rel_path))
            logger.warning("cannot read %s: %s", rel_path, exc)
            return "failed"
        if self._changed_since(full, st):
            return "changing"
        if row and row.status == INDEXED and row.sha256 == sha and not row.stale:
            self.state.update_stats(rel_path, st.st_size, st.st_mtime_ns)
            return "unchanged"

        self.state.begin(rel_path, st.st_size, st.st_mtime_ns, sha)  # step 1
        outcome: Outcome
        error = ""
        try:
            if self.store.get(point_id(sha)) is not None:
                self._sync_point(sha)  # a move or a duplicate: same bytes, no new description
                if not thumbnail_path(self.data_dir, point_id(sha)).exists():  # thumbs/ was cleared
                    write_thumbnail(
                        self.data_dir, point_id(sha), load_image(full, self.describer.settings.limits).image
                    )
                outcome = "linked"
            else:
                outcome = self._describe_and_store(rel_path, full, st, sha)  # step 2
        except Exception as exc:  # one bad file never stops the indexer
            outcome, error = "failed", _reason(exc, str(full), rel_path)
            if isinstance(exc, PARTIAL_FILE_ERRORS) and self._still_written(full, st, settle_seconds):
                outcome = "changing"  # a slow writer paused longer than the watcher's quiet interval
            else:
                log = logger.warning if isinstance(exc, ImageError) else logger.exception
                log("failed to index %s: %s", rel_path, error)
        if outcome == "changing":
            self.state.undo_attempt(rel_path)
            return outcome  # stays pending; the watcher or a restart picks it up again
        try:
            self._sync_stale(rel_path)  # step 3
        except Exception as exc:
            logger.exception("cannot update old store entries for %s", rel_path)
            self.state.finish(rel_path, FAILED, _reason(exc), clear_stale=False)
            return "failed"
        self.state.finish(rel_path, FAILED if error else INDEXED, error)  # step 4
        return outcome

    def _changed_since(self, full: Path, st: os.stat_result) -> bool:
        """True when the file is still being written (size or mtime moved under us)."""
        try:
            now = full.stat()
        except FileNotFoundError:
            return True
        return (now.st_size, now.st_mtime_ns) != (st.st_size, st.st_mtime_ns)

    def _still_written(self, full: Path, st: os.stat_result, settle_seconds: float) -> bool:
        """After a decode failure: the file moved under us, or was written very recently."""
        return self._changed_since(full, st) or time.time() - st.st_mtime < settle_seconds

    def _describe_and_store(self, rel_path: str, full: Path, st: os.stat_result, sha: str) -> Outcome:
        start = time.perf_counter()
        image = load_image(full, self.describer.settings.limits, name=rel_path)
        decode_ms = round((time.perf_counter() - start) * 1000, 1)
        if self._changed_since(full, st):
            return "changing"
        described_at = utc_now()
        facts, timings = self.describer.analyze(image, self.profile)
        timings["decode"] = decode_ms
        main = self.describer.compose(facts, self.profile, timings)
        alt = self.describer.compose(facts, self.alt_profile)
        pid = point_id(sha)
        payload = stored_image(
            main,
            sha256=sha,
            paths=self.state.paths_for(sha),
            alt=alt.description,
            boxes=facts.objects.objects if facts.objects else (),
            width=image.original_width,
            height=image.original_height,
            size_bytes=st.st_size,
            described_at=described_at,
            indexed_at=utc_now(),
            embedding_model=self.embedder.name,
            describer_version=DESCRIBER_VERSION,
        )
        point = self.points.point(pid, payload)
        write_thumbnail(self.data_dir, pid, image.image)  # before the point: a point always has one
        self.store.upsert([point])
        logger.info("indexed %s (%s)", rel_path, pid)
        return "described"

    # --- keeping points' paths in line with the state table -------------------------

    def _sync_point(self, sha: str, exclude: str | None = None) -> None:
        """Make the point's paths equal the state table's; delete it when none are left."""
        pid = point_id(sha)
        paths = [p for p in self.state.paths_for(sha) if p != exclude]
        exists = self.store.get(pid) is not None
        if not paths:
            if exists:
                self.store.delete([pid])
            delete_thumbnail(self.data_dir, pid)
        elif exists:
            self.store.set_paths(pid, paths)

    def _sync_stale(self, rel_path: str) -> None:
        row = self.state.get(rel_path)
        for sha in row.stale if row else ():
            self._sync_point(sha)

    def remove_path(self, rel_path: str) -> None:
        row = self.state.get(rel_path)
        if row is None:
            return
        for sha in {row.sha256, *row.stale} - {""}:
            self._sync_point(sha, exclude=rel_path)
        self.state.delete(rel_path)  # last: until here a restart would redo the removal
        logger.info("removed %s", rel_path)

    # --- model changes and status -----------------------------------------------------

    def reembed_all(self, batch: int = 64) -> int:
        """Re-embed points written with another embedding model, from their stored
        text: no image is opened and nothing is described again."""
        stale = [(pid, p) for pid, p in self.store.scroll() if p.embedding_model != self.embedder.name]
        for start in range(0, len(stale), batch):
            chunk = stale[start : start + batch]
            now = utc_now()
            points = self.points.points([(pid, reembedded(p, self.embedder.name, now)) for pid, p in chunk])
            self.store.upsert(points)
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
