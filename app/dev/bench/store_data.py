"""Synthetic catalogs for the search benchmarks: random unit vectors for the dense views,
Zipf-distributed tags and sparse terms like real descriptions have, and the store's share
of a hybrid query as the app makes it. Used by `imgdesc bench --search` (app/dev/bench/search.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from catalog.store.base import (
    DENSE,
    FOCUS,
    LABELS,
    SPARSE,
    SparseVector,
    Store,
)
from catalog.store.edge import EdgeStore
from search.service import MIN_CANDIDATES

TAGS = 60  # distinct tags, drawn with Zipf-like frequencies like real ones
VOCAB = 20_000  # sparse term ids
WORDS = ["cat", "dog", "tree", "red", "blue", "car", "street", "sky", "person", "food", "water"]


def _zipf(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1)
    return rng.choice(n, size=size, replace=False, p=p / p.sum())


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def label_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    # a label distribution's vector is not normalised: its length is the confidence
    return unit_rows(rng, n, dim) * rng.uniform(0.2, 1.0, (n, 1)).astype(np.float32)


def app_views(store: Store, dense: list[float], sparse: SparseVector, tags: Sequence[str] = ()) -> set[str]:
    """The store's share of a hybrid search as the app makes it (search/service.py
    `views`): the nearest MIN_CANDIDATES of each of the four views, asked in one request,
    fused in Python."""
    queries: list[tuple[str, list[float] | SparseVector]] = [(DENSE, dense), (FOCUS, dense), (LABELS, dense)]
    found = store.nearest_views([*queries, (SPARSE, sparse)], tags, MIN_CANDIDATES)
    return {id for view in found for id, _ in view}


def exact_dense(store: EdgeStore, dense: list[float], limit: int) -> list[str]:
    """The true nearest `limit` by the dense view: every float vector compared."""
    return [id for id, _ in store.nearest(DENSE, dense, limit=limit, exact=True)]
