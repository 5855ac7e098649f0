"""One store interface over Qdrant: embedded (Qdrant Edge shard) or a server (qdrant-client)."""

from indexer.store.base import Hit, ImagePoint, SparseVector, StoredImage, Store, StoreInUseError, point_id

__all__ = ["Hit", "ImagePoint", "SparseVector", "Store", "StoreInUseError", "StoredImage", "point_id"]
