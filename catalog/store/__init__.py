"""One store interface over Qdrant: embedded (Qdrant Edge shard) or a server (qdrant-client)."""

from catalog.store.base import (
    DENSE,
    FOCUS,
    LABELS,
    SPARSE,
    DimensionMismatchError,
    Hit,
    ImagePoint,
    SchemaChangedError,
    SparseVector,
    Store,
    StoredImage,
    StoreInUseError,
    point_id,
)
from catalog.store.factory import open_store

__all__ = [
    "DENSE",
    "FOCUS",
    "LABELS",
    "SPARSE",
    "DimensionMismatchError",
    "Hit",
    "ImagePoint",
    "SchemaChangedError",
    "SparseVector",
    "Store",
    "StoreInUseError",
    "StoredImage",
    "open_store",
    "point_id",
]
