"""Pick the store from the settings: the embedded shard unless a server URL is given."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from catalog.store.base import Store


def move_aside(folder: Path) -> Path:
    """Move a damaged store out of the way, never deleting it: <folder>.damaged-<UTC time>."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = folder.with_name(f"{folder.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = folder.with_name(f"{folder.name}.damaged-{stamp}-{n}")
    folder.rename(aside)
    return aside


def open_store(
    data_dir: Path,
    dense_size: int,
    url: str | None = None,
    api_key: str | None = None,
    collection: str = "images",
    recreate: bool = False,
    claim: StoreClaim | None = None,
    image_size: int | None = None,
) -> Store:
    """The embedded Qdrant Edge shard at data_dir/"qdrant", or `collection` on the server
    at `url`. `recreate` starts empty (after a DimensionMismatchError or a
    SchemaChangedError, to rebuild the index).
    `claim`: the embedded store's lock, from claim_store().
    `image_size`: the image-text model's vector size, to hold image vectors (None: none)."""
    # imported here so that each deployment loads only the Qdrant package it uses
    if url:
        from catalog.store.server import ServerStore

        return ServerStore.connect(
            url, dense_size, api_key=api_key, collection=collection, recreate=recreate, image_size=image_size
        )
    from catalog.store.edge import EdgeStore

    store = EdgeStore.open(
        data_dir / "qdrant",
        dense_size,
        recreate=recreate,
        claim=claim.fd if claim else None,
        image_size=image_size,
    )
    if claim is not None:
        claim.handed_over = True  # the store releases the lock when it closes
    return store


@dataclass
class StoreClaim:
    """The embedded store's lock, held before the store can be opened."""

    fd: int
    handed_over: bool = False


@contextmanager
def claim_store(data_dir: Path, url: str | None = None) -> Iterator[StoreClaim | None]:
    """Hold the embedded store's lock from now on, before anything slow (loading the
    models that open_store needs for the vector size): raises StoreInUseError at once
    when another process has it. Pass the claim to open_store; if the block ends
    without opening the store, the lock is released. A Qdrant server needs no lock."""
    if url:
        yield None
        return
    from catalog.store.edge import claim_lock, release_claim

    claim = StoreClaim(claim_lock(data_dir / "qdrant"))
    try:
        yield claim
    finally:
        if not claim.handed_over:
            release_claim(claim.fd)
