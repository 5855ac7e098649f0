"""One-shot indexing (`imgdesc index`): what the watcher does at start, run to the end."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from catalog.embed import TextEmbedder
from catalog.store.base import Store
from catalog.store.guarded import GuardedStore
from describe.describer import Describer
from indexer.batch import index_paths
from indexer.pipeline import Indexer
from indexer.reconcile import reconcile
from indexer.repair import find_damage, rebuild

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]

# New points after which the search graph is rebuilt. Qdrant Edge has no background
# optimiser: until optimize() runs, search scans every point (47 ms hybrid + tag at 100k
# against 21 ms after, docs/PERFORMANCE.md). It takes minutes of CPU at 100k (in a child
# process, on a copy: catalog/store/edge_optimize.py), so it runs only after bulk loads,
# when the queue is empty.
OPTIMIZE_AFTER = 1000


def optimize_store(store: Store) -> None:
    """Build the store's search index if it has one to build (the embedded shard does;
    a Qdrant server optimises by itself and its adapter's optimize() does nothing).
    A failure (the copy it works on found no room, say) costs speed, not the run: logged."""
    try:
        store.optimize()
    except Exception:  # search still works, only slower
        logger.exception("optimising the store failed")


__all__ = ["Progress", "index_folder", "run_once"]


def run_once(indexer: Indexer, progress: Progress | None = None, retries: int = 3) -> dict[str, int]:
    """Reconcile, then index everything that needs it in batches, reporting (done,
    total, path) as each file's outcome becomes final. Files the process stopped on
    before come last, without waiting out their backoff: a one-shot run is the user
    asking for them now, and the rest is done by then."""
    store = indexer.store
    if isinstance(store, GuardedStore):  # a damaged store is moved aside and filled again below
        damage = find_damage(store)
        if damage is not None:
            rebuild(store, damage, expected=indexer.state.indexed_images())
    reembedded = indexer.reembed_all() if indexer.needs_reembed() else 0
    indexer.reembed_images()
    indexer.group_images()  # near-duplicates and variants (catalog/families/)
    plan = reconcile(indexer)
    todo = plan.to_index + sorted(plan.deferred, key=plan.deferred.__getitem__)
    total = len(todo)
    outcomes: Counter[str] = Counter()
    for attempt in range(retries + 1):
        changing = []
        for rel, outcome in index_paths(indexer, todo):
            if outcome == "changing" and attempt < retries:
                changing.append(rel)  # being written right now: looked at again below
                continue
            outcomes[outcome] += 1
            if progress is not None:
                progress(sum(outcomes.values()), total, rel)
        if not changing:
            break
        time.sleep(0.5)  # give the writers a moment
        todo = changing
    if outcomes["described"] >= OPTIMIZE_AFTER:
        optimize_store(indexer.store)
    return {
        "total": total,
        "moved": plan.moved,
        "removed": plan.removed,
        "reembedded": reembedded,
        **outcomes,
    }


def index_folder(
    root: str | Path,
    data_dir: str | Path,
    describer: Describer,
    embedder: TextEmbedder,
    store: Store,
    *,
    profile: str | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """One-shot indexing for `imgdesc index`: what the watcher does at start, to the end."""
    indexer = Indexer(root, data_dir, describer, embedder, store, profile=profile)
    try:
        return run_once(indexer, progress)
    finally:
        indexer.close()
