"""How the embedded store lays out its shard (catalog/store/tuning.py says why), and
what opening a shard written by an earlier version takes."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import qdrant_edge as qe

import catalog.store.tuning as tuning
from catalog.store.base import (
    DENSE,
    FOCUS,
    IMAGE,
    LABELS,
    ORDER_FIELD,
    SPARSE,
    VECTORS,
    DimensionMismatchError,
    SchemaChangedError,
)

logger = logging.getLogger(__name__)

CONFIG_FILE = "edge_config.json"  # written by Qdrant Edge on create; holds the named vectors


def config(dense_size: int, image_size: int | None = None) -> qe.EdgeConfig:
    """The float vectors on disk (mapped, read for rescoring only), an int8 copy of each
    dense view in RAM for the HNSW walk, the payload on disk (catalog/store/tuning.py)."""
    vectors = {
        DENSE: _dense(dense_size, qe.Distance.Cosine),
        FOCUS: _dense(dense_size, qe.Distance.Cosine),
        # dot product: the label distribution's length carries how confident it is
        LABELS: _dense(dense_size, qe.Distance.Dot),
    }
    if image_size is not None:
        vectors[IMAGE] = _dense(image_size, qe.Distance.Cosine)
    return qe.EdgeConfig(
        vectors=vectors,
        # IDF turns the client-side term-frequency weights into BM25-like scores
        sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        payload_memory=qe.Memory.Cold,
        hnsw_config=qe.HnswIndexConfig(
            m=tuning.HNSW_M,
            ef_construct=tuning.HNSW_EF_CONSTRUCT,
            full_scan_threshold=tuning.FULL_SCAN_THRESHOLD_KB,
        ),
        # the global setting, so that a vector added later (IMAGE) is quantised as well
        quantization_config=INT8,
        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=tuning.INDEXING_THRESHOLD_KB),
    )


INT8 = qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=tuning.QUANTILE, memory=qe.Memory.Pinned)
# the HNSW walk on the int8 copies, its best candidates rescored on the float vectors
SEARCH = qe.SearchParams(
    hnsw_ef=tuning.HNSW_EF,
    quantization=qe.QuantizationSearchParams(rescore=True, oversampling=tuning.OVERSAMPLING),
)
# the secondary views: the walk on the int8 copies alone (tuning.RESCORED_VIEWS)
SEARCH_INT8 = qe.SearchParams(hnsw_ef=tuning.HNSW_EF, quantization=qe.QuantizationSearchParams(rescore=False))
EXACT = qe.SearchParams(exact=True, quantization=qe.QuantizationSearchParams(ignore=True))


def search_params(using: str) -> qe.SearchParams:
    return SEARCH if using in tuning.RESCORED_VIEWS else SEARCH_INT8


def ensure_payload_indexes(shard: qe.EdgeShard) -> None:
    """Index the fields queries filter, count or order on (tuning.INDEXED_KEYWORDS and
    ORDER_FIELD), and drop any other index a store of an earlier version made.
    Indexes are persisted with the shard: only what differs is changed."""
    have = shard.info().payload_schema
    for field in have.keys() - {*tuning.INDEXED_KEYWORDS, ORDER_FIELD}:
        shard.update(qe.UpdateOperation.delete_field_index(field))
    for field in tuning.INDEXED_KEYWORDS:
        if field not in have:
            shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
    if ORDER_FIELD not in have:
        shard.update(qe.UpdateOperation.create_field_index(ORDER_FIELD, qe.PayloadSchemaType.Datetime))
    shard.flush()


def _dense(size: int, distance: qe.Distance) -> qe.EdgeVectorParams:
    # Cold: mapped from disk and paged in when read, never loaded up front
    return qe.EdgeVectorParams(size=size, distance=distance, memory=qe.Memory.Cold)


def check_stored_config(path: Path, dense_size: int) -> int | None:
    """Compare the named vectors recorded at creation with what this version needs; the
    stored IMAGE vector's size (None without one).
    An unreadable record is left to Edge, which checks the config again on load
    (but answers a mismatch with a bare Exception, hence the readable errors here)."""
    try:
        recorded = json.loads((path / CONFIG_FILE).read_text())
        dense = dict(recorded["vectors"])
        stored = {**dense, **dict(recorded.get("sparse_vectors") or {})}
        stored_size = int(dense[DENSE]["size"]) if DENSE in dense else None
        image_size = int(dense[IMAGE]["size"]) if IMAGE in dense else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    where = f"the embedded store at {path}"
    if stored_size is not None and stored_size != dense_size:
        raise DimensionMismatchError(where, stored_size, dense_size)
    missing = [name for name in VECTORS if name not in stored]
    if missing:
        raise SchemaChangedError(where, missing)
    return image_size


def unquantized(path: Path) -> bool:
    """The shard was created before the int8 layout (its recorded config has none)."""
    try:
        return "quantization_config" not in json.loads((path / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return False  # left to Edge, as in check_stored_config


def relayout(shard: qe.EdgeShard, path: Path) -> None:
    """Rewrite a store of an earlier version in the new layout, once: Edge rebuilds every
    segment whose layout differs from the config (the points stay; nothing is
    re-described). Minutes of CPU at 100k points, during which Edge holds the GIL."""
    logger.warning("rewriting the embedded store at %s with int8 copies of its vectors (once)", path)
    started = time.monotonic()
    shard.optimize()
    shard.flush()
    logger.warning("store rewritten in %.0f s", time.monotonic() - started)
