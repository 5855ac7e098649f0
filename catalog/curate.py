"""Writing people's edits into the store, and keeping them there.

Two writers touch an edited image's point: the Curator (a person's PATCH, a bulk tag
change) and the indexer (a new description, a re-embedding). Both go through a
`CuratedEncoder`, which applies the content's current edit (catalog/edits.py) to every
payload it turns into a point, so no write can drop an edit. The EditStore is written
first, under its lock, and the Curator holds that lock until its point is upserted; the
indexer upserts a batch outside it (indexer/batch.py) and then calls `settle()` for each
file, which rewrites the point under the lock if an edit came in between its encoding
and its upsert. So whichever writes last, the point ends up with the current edit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from catalog.edits import EditError, EditStore, Patch, apply, clean_patch, machine_tags
from catalog.embed import Embedder, TextEmbedder
from catalog.points import PointEncoder
from catalog.store.base import ImagePoint, Store, StoredImage, point_id
from describe.errors import ImgdescError

# ids in one bulk change: a search page shows 60, the REST API takes up to this many
MAX_BULK = 1000


class UnknownImageError(ImgdescError):
    status_code = 404


@dataclass(frozen=True)
class Edited:
    records: dict[str, StoredImage]  # each image's record as now stored, by id
    changed: list[str]  # the ids whose record the change altered (their points rewritten)


class CuratedEncoder(PointEncoder):
    """A PointEncoder whose points carry their content's current edit. `replaced`: for a
    payload, the older contents of its paths (a file replaced by new bytes), whose edit
    the new content takes over when it has none of its own."""

    def __init__(
        self,
        embedder: TextEmbedder,
        edits: EditStore,
        phrases_file: Path | None = None,
        replaced: Callable[[StoredImage], Sequence[str]] | None = None,
    ) -> None:
        super().__init__(embedder, phrases_file)
        self.edits = edits
        self.replaced = replaced

    def points(
        self, items: Sequence[tuple[str, StoredImage]], images: Mapping[str, list[float]] | None = None
    ) -> list[ImagePoint]:
        return super().points([(pid, self.curated(p)) for pid, p in items], images)

    def curated(self, payload: StoredImage) -> StoredImage:
        edit = self.edits.get(payload.sha256)
        for old in self.replaced(payload) if edit is None and self.replaced else ():
            edit = self.edits.carry(old, payload.sha256)
            if edit is not None:
                break
        return apply(payload, edit)


def curated_encoder(
    embedder: TextEmbedder,
    edits: EditStore,
    replaced: Callable[[StoredImage], Sequence[str]] | None = None,
) -> CuratedEncoder:
    """As catalog.points.point_encoder: label phrase vectors persist where the embedder
    has a place for them."""
    phrases = embedder.label_phrase_file() if isinstance(embedder, Embedder) else None
    return CuratedEncoder(embedder, edits, phrases, replaced)


class Curator:
    """People's changes to stored images: the edit is merged into the EditStore (the source
    of truth) first, then the point is re-encoded from its stored payload with the edit
    applied, its IMAGE vector kept, and upserted. Blocking: call it off the event loop."""

    def __init__(self, store: Store, encoder: CuratedEncoder) -> None:
        self.store = store
        self.encoder = encoder
        self.edits = encoder.edits

    def edit(self, image_id: str, patch: Patch, edited_by: str | None = None) -> StoredImage:
        """Apply one patch to one image; returns its record as now stored."""
        return self.edit_many([image_id], patch, edited_by).records[image_id]

    def edit_many(self, image_ids: Sequence[str], patch: Patch, edited_by: str | None = None) -> Edited:
        """The same patch on every image (a bulk tag change): all are checked before any is
        changed (an unknown id first, then the patch), and their points are written in one
        upsert."""
        ids = list(dict.fromkeys(image_ids))
        if len(ids) > MAX_BULK:
            raise EditError(f"{len(ids)} images in one change, over the {MAX_BULK} limit")
        with self.edits.lock:
            records = self.store.get_many(ids)
            missing = [i for i in ids if i not in records]
            if missing:
                shown = ", ".join(repr(i) for i in missing[:5]) + (" …" if len(missing) > 5 else "")
                raise UnknownImageError(f"no image with id {shown}", {"missing": missing})
            patch = clean_patch(patch)
            for image_id in ids:
                record = records[image_id]
                self.edits.merge(record.sha256, patch, machine_tags(record), edited_by)
            written = self._rewrite(records)
        return Edited({**records, **written}, [i for i in ids if i in written])

    def settle(self, sha256: str) -> bool:
        """Make the content's point carry its current edit, when a write from elsewhere left
        it with another one; True when it was rewritten."""
        with self.edits.lock:
            pid = point_id(sha256)
            record = self.store.get(pid)
            if record is None or record.edit == self.edits.get(sha256):
                return False
            self._rewrite({pid: record})
            return True

    def _rewrite(self, records: Mapping[str, StoredImage]) -> dict[str, StoredImage]:
        """Re-encode and upsert the points whose record the current edits change."""
        changed = {
            pid: record
            for pid, record in records.items()
            if apply(record, self.edits.get(record.sha256)) != record
        }
        if not changed:
            return {}
        kept = self.store.image_vectors(list(changed))  # an upsert replaces every vector
        points = self.encoder.points(list(changed.items()), kept)
        self.store.upsert(points)
        return {point.id: point.payload for point in points}
