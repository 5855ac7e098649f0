"""CLI access to the catalog: the embedded store directly, or — when a running
server holds it — the server's REST API on the configured host and port."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx
import msgspec

from app.config import Settings
from catalog.families.saved import hidden_ids
from catalog.store.base import StoreInUseError
from describe.errors import ImgdescError
from search.service import SearchHit, SearchService


class _Hits(msgspec.Struct):
    hits: list[SearchHit]


def search_hits(
    settings: Settings, query: str, tags: list[str], limit: int, *, not_tags: Sequence[str] = ()
) -> list[SearchHit]:
    """The store's lock is tried first: when a server holds it, the query goes there
    without loading the embedding model here (seconds) only to find the store taken."""
    from catalog.factory import open_catalog
    from catalog.store.factory import claim_store

    try:
        with claim_store(Path(settings.data_dir), settings.qdrant_url) as claim:
            # the server's views, the image view included: no describer models to load
            catalog = open_catalog(settings.catalog, claim, search_only=True)
    except StoreInUseError as in_use:
        return _via_server(settings, query, tags, limit, in_use, not_tags)
    try:
        search = SearchService.over(catalog)
        search.hidden = lambda: hidden_ids(settings.data_dir)  # as the server leaves them out
        return search.search(query, tags, limit, not_tags=not_tags)
    finally:
        catalog.close()


def auth_headers(settings: Settings) -> dict[str, str]:
    """The API token for a server with accounts (--token or IMGDESC_TOKEN)."""
    return {"Authorization": f"Bearer {settings.token}"} if settings.token else {}


def _via_server(
    settings: Settings,
    query: str,
    tags: list[str],
    limit: int,
    in_use: ImgdescError,
    not_tags: Sequence[str] = (),
) -> list[SearchHit]:
    url = f"http://{settings.host}:{settings.port}/api/search"
    params: dict[str, str | int | list[str]] = {
        "q": query,
        "tag": tags,
        "not_tag": list(not_tags),
        "limit": limit,
    }
    try:
        response = httpx.get(url, params=params, headers=auth_headers(settings), timeout=30)
    except httpx.HTTPError:
        raise in_use from None
    if response.status_code != 200:
        raise ImgdescError(f"the running server answered {response.status_code}: {response.text[:200]}")
    return msgspec.json.decode(response.content, type=_Hits).hits
