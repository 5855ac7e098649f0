"""Perceptual hashes for points written before they were kept, and the families that
follow from them (catalog/families/).

Points get their fingerprint when they are described (indexer/records.py). At start-up,
next to the image re-embedding (indexer/image_vectors.py), the families are worked out
for whatever is not placed yet (Families.sync, one pass over the store), and the points
from before fingerprints were kept are brought in line: each file is read again and
hashed, nothing is described again, the point is written back with its vectors as they
were, and placed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from msgspec.structs import replace

from catalog.families.groups import Families
from catalog.fingerprint import fingerprint
from catalog.store.base import (
    DENSE,
    FOCUS,
    IMAGE,
    LABELS,
    SPARSE,
    ImagePoint,
    SparseVector,
    Store,
    StoredImage,
)
from describe.intake import IntakeLimits
from indexer.image_vectors import open_first

logger = logging.getLogger(__name__)


def _hashed(root: Path, payload: StoredImage, limits: IntakeLimits) -> StoredImage | None:
    """The payload with the fingerprint of the first of its files that still reads (a file
    moved or changed since is re-indexed by its own event)."""
    image = open_first(root, payload, limits)
    return None if image is None else replace(payload, fingerprint=fingerprint(image.image))


def _rewrite(store: Store, pid: str, payload: StoredImage) -> bool:
    """Write the point back with the new payload and the vectors it holds."""
    vectors = store.vectors(pid)
    dense, sparse = vectors.get(DENSE), vectors.get(SPARSE)
    if not isinstance(dense, list) or not isinstance(sparse, SparseVector):
        return False

    def dense_or_none(name: str) -> list[float] | None:
        value = vectors.get(name)
        return value if isinstance(value, list) else None

    point = ImagePoint(
        id=pid,
        dense=dense,
        sparse=sparse,
        payload=payload,
        focus=dense_or_none(FOCUS),
        labels=dense_or_none(LABELS),
        image=dense_or_none(IMAGE),
    )
    store.upsert([point])
    return True


def fill_fingerprints(
    store: Store, root: Path, limits: IntakeLimits, lock: threading.RLock, ids: Iterable[str]
) -> list[tuple[str, StoredImage]]:
    """Give the points `ids` a fingerprint; the points given one, as now stored. `lock`: the
    edits' lock (catalog/curate.py), held from reading a payload to writing it back, so a
    person's edit never lands in between and is lost."""
    done = []
    for pid in ids:
        current = store.get(pid)
        hashed = _hashed(root, current, limits) if current is not None else None
        if hashed is None:
            continue
        with lock:
            latest = store.get(pid)  # an edit may have come in while the file was read
            if latest is None:
                continue
            written = replace(latest, fingerprint=hashed.fingerprint)
            if _rewrite(store, pid, written):
                done.append((pid, written))
    if done:
        logger.info("fingerprinted %d images indexed before near-duplicates were kept", len(done))
    return done


def group_images(
    families: Families, store: Store, root: Path, limits: IntakeLimits, lock: threading.RLock
) -> int:
    """Place every image not yet placed in its near-duplicate and variant groups (one pass
    over the store), then fingerprint the points that have none and place them again; the
    number of placements. Grouping serves people, not indexing: when it fails (a store that cannot
    be read is found and repaired by the indexer's own checks) it says so and the indexer
    goes on."""
    try:
        placed = families.sync()
        for pid, payload in fill_fingerprints(store, root, limits, lock, families.unhashed()):
            families.place(pid, payload)
            placed += 1
    except Exception:
        logger.exception("grouping near-duplicates and variants failed; indexing goes on without it")
        return 0
    return placed
