"""`imgdesc search --like PATH_OR_ID`: more like this from the CLI, the same ranking as
GET /api/images/{id}/similar (search/similar.py): through a running server when one holds
the store, else over the catalog here.

A path is found by its content: its bytes' sha256 names its point, wherever the file is,
so a copy outside the watched folder finds the image too. A file that was never indexed
has no point: that is an error saying so, not an empty answer.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import httpx
import msgspec

from app.cli.client import auth_headers
from app.config import Settings
from catalog.store.base import StoreInUseError, point_id
from describe.errors import ImgdescError
from search.service import SearchHit


class _Similar(msgspec.Struct):
    hits: list[SearchHit]


def image_id(like: str) -> str:
    """The point id of an image id or of a file's content."""
    try:
        return str(uuid.UUID(like))
    except ValueError:
        pass
    path = Path(like)
    if not path.is_file():
        raise ImgdescError(f"{like}: neither a file nor an image id")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return point_id(digest.hexdigest())


def similar_hits(settings: Settings, like: str, limit: int) -> tuple[str, list[SearchHit]]:
    """The id `like` names and the images most like it, best first."""
    from catalog.factory import open_catalog
    from catalog.store.factory import claim_store

    wanted = image_id(like)
    try:
        with claim_store(Path(settings.data_dir), settings.qdrant_url) as claim:
            catalog = open_catalog(settings.catalog, claim, search_only=True)
    except StoreInUseError as in_use:
        return wanted, _via_server(settings, like, wanted, limit, in_use)
    from catalog.families.groups import Families
    from search.similar import SimilarImages

    families = None
    try:
        if catalog.store.get(wanted) is None:
            raise ImgdescError(f"{like}: not in the catalog (index its folder first)")
        families = Families(catalog.store, settings.data_dir)
        families.sync()  # quick once the folder's indexer has grouped it: only what is new
        return wanted, SimilarImages(catalog.store, families, hidden=families.hidden_ids).similar(
            wanted, limit
        )
    finally:
        if families is not None:
            families.close()
        catalog.close()


def _via_server(
    settings: Settings, like: str, wanted: str, limit: int, in_use: ImgdescError
) -> list[SearchHit]:
    url = f"http://{settings.host}:{settings.port}/api/images/{wanted}/similar"
    try:
        response = httpx.get(url, params={"limit": limit}, headers=auth_headers(settings), timeout=30)
    except httpx.HTTPError:
        raise in_use from None
    if response.status_code == 404:
        raise ImgdescError(f"{like}: not in the catalog (index its folder first)")
    if response.status_code != 200:
        raise ImgdescError(f"the running server answered {response.status_code}: {response.text[:200]}")
    return msgspec.json.decode(response.content, type=_Similar).hits
