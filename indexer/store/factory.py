"""Pick the store from the settings: the embedded shard unless a server URL is given."""

from __future__ import annotations

from pathlib import Path

from indexer.store.base import Store


def open_store(
    data_dir: Path,
    dense_size: int,
    url: str | None = None,
    api_key: str | None = None,
    collection: str = "images",
    recreate: bool = False,
) -> Store:
    """The embedded Qdrant Edge shard at data_dir/"qdrant", or `collection` on the server
    at `url`. `recreate` starts empty (after a DimensionMismatchError, to re-embed)."""
    # imported here so that each deployment loads only the Qdrant package it uses
    if url:
        from indexer.store.server import ServerStore

        return ServerStore.connect(url, dense_size, api_key=api_key, collection=collection, recreate=recreate)
    from indexer.store.edge import EdgeStore

    return EdgeStore.open(data_dir / "qdrant", dense_size, recreate=recreate)
