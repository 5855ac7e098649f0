"""The store the Ray job writes to: a Qdrant server or cluster, never the embedded
shard (it belongs to one process, and the job's writers are many)."""

from __future__ import annotations

from catalog.store.server import CollectionLayout, ServerStore
from describe.errors import ConfigError


def require_qdrant_url(url: str | None) -> str:
    """Checked before anything slow, so a missing URL is reported at once."""
    if not url:
        raise ConfigError(
            "--engine ray writes to a Qdrant server: give --qdrant-url "
            "(the embedded store belongs to one process)"
        )
    return url


def cluster_layout(shards: int | None, replicas: int | None) -> CollectionLayout:
    for name, value in (("--shards", shards), ("--replicas", replicas)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1, not {value}")
    return CollectionLayout(shards=shards, replicas=replicas)


def open_cluster_store(
    url: str | None,
    dense_size: int,
    *,
    api_key: str | None = None,
    collection: str = "images",
    shards: int | None = None,
    replicas: int | None = None,
    image_size: int | None = None,
) -> ServerStore:
    """The collection on the server at `url`, created with `shards` shards of
    `replicas` copies each when it does not exist yet (an existing one keeps its own).
    `image_size`: the SigLIP 2 tagger's vector size when it is on (catalog.factory)."""
    layout = cluster_layout(shards, replicas)
    return ServerStore.connect(
        require_qdrant_url(url), dense_size, api_key=api_key, collection=collection, layout=layout,
        image_size=image_size,
    )  # fmt: skip
