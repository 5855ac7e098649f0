"""CLI access to the catalog: the embedded store directly, or — when a running
server holds it — the server's REST API on the configured host and port."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec

from app.config import Settings
from describe.errors import ImgdescError
from indexer.store.base import StoreInUseError
from search.service import SearchHit, SearchService


class _Hits(msgspec.Struct):
    hits: list[SearchHit]


def search_hits(settings: Settings, query: str, tags: list[str], limit: int) -> list[SearchHit]:
    """The store's lock is tried first: when a server holds it, the query goes there
    without loading the embedding model here (seconds) only to find the store taken."""
    from indexer.embed import Embedder
    from indexer.store.factory import claim_store, open_store

    try:
        with claim_store(Path(settings.data_dir), settings.qdrant_url) as claim:
            embedder = Embedder(settings.embedding_model, threads=settings.describe.threads)
            store = open_store(
                Path(settings.data_dir), embedder.dim, url=settings.qdrant_url,
                api_key=settings.qdrant_api_key, claim=claim,
            )  # fmt: skip
    except StoreInUseError as in_use:
        return _via_server(settings, query, tags, limit, in_use)
    try:
        return SearchService(store, embedder).search(query, tags, limit)
    finally:
        store.close()


def _via_server(
    settings: Settings, query: str, tags: list[str], limit: int, in_use: ImgdescError
) -> list[SearchHit]:
    url = f"http://{settings.host}:{settings.port}/api/search"
    try:
        response = httpx.get(url, params={"q": query, "tag": tags, "limit": limit}, timeout=30)
    except httpx.HTTPError:
        raise in_use from None
    if response.status_code != 200:
        raise ImgdescError(f"the running server answered {response.status_code}: {response.text[:200]}")
    return msgspec.json.decode(response.content, type=_Hits).hits
