"""Finding a damaged store and rebuilding it, with the models already loaded.

Every image is known twice over: the journal has each file's sha256, the folder has the
bytes. So a damaged embedded store is not mended in place: it is moved aside
(data/qdrant.damaged-<time>, never deleted), an empty one takes its place at once (search
answers from it as it fills), and the reconcile that follows sees indexed files whose
points are gone and describes them again (indexer/reconcile.py `_lost_points`).

The check reads the store back (EdgeStore.verify: every payload, every vector of a small
store and a sample of a large one) at start-up, and again whenever a read fails
(GuardedStore.on_damage).
"""

from __future__ import annotations

import logging
import time

from catalog.store.base import Store
from catalog.store.factory import move_aside
from catalog.store.guarded import GuardedStore
from indexer.state import utc_now
from indexer.status import Repair

logger = logging.getLogger(__name__)

# Below this many points every vector is read back; above, one point in
# VECTOR_SAMPLE_EVERY (damage to a vector file spans dozens of neighbouring points:
# 64 KB is 42 points' 384-d vectors, which a 1-in-8 sample misses with p = 0.4 %).
VECTOR_CHECK_ALL = 20_000
VECTOR_SAMPLE_EVERY = 8


def find_damage(store: GuardedStore) -> str | None:
    """The damage a read-back of the store finds, or None (a store that cannot be
    checked here, a Qdrant server's collection, is taken as it is)."""
    if store.folder is None:
        return None
    started = time.monotonic()
    try:
        every = 1 if store.inner.count() <= VECTOR_CHECK_ALL else VECTOR_SAMPLE_EVERY
    except Exception as exc:
        return f"cannot count its points: {str(exc)[:200]}"
    found = store.verify(vector_every=every)
    logger.info("checked the store in %.1f s: %s", time.monotonic() - started, found or "no damage")
    return found


def rebuild(store: GuardedStore, reason: str, expected: int) -> Repair | None:
    """Move the damaged store aside and serve a new, empty one in its place. None when
    this store cannot be rebuilt here (no `reopen`: a server's collection)."""
    if store.reopen is None or store.folder is None:
        logger.error("the store is damaged (%s) and cannot be rebuilt here", reason)
        return None
    # moved while still open (its files and maps follow the rename), so a search never
    # meets a closed store: it reads the old one until the new one is swapped in
    aside = move_aside(store.folder)
    old: Store = store.swap(store.reopen())
    try:
        old.close()
    except Exception as exc:  # it flushes to the paths it was opened at, gone with the move
        logger.warning("closing the damaged store left it as it was moved (%s)", str(exc)[:200])
    logger.error(
        "the store was damaged (%s); moved it to %s and rebuilding it: %d images to describe again",
        reason, aside, expected,
    )  # fmt: skip
    return Repair(reason=reason, moved_to=str(aside), started_at=utc_now(), expected=expected)
