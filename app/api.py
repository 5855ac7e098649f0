"""REST endpoints. Handlers are thin: parse, call a service, return a struct."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import File

from app.services import Services
from describe.errors import ImgdescError, NotAnImageError
from search.service import SearchHit


class NotFoundError(ImgdescError):
    status_code = 404


class SearchResponse(msgspec.Struct):
    query: str
    tags: list[str]
    hits: list[SearchHit]


class TagCount(msgspec.Struct):
    tag: str
    count: int


def check_id(id: FromPath[str]) -> str:
    """Ids are UUIDs; anything else never reaches the store or the file system."""
    try:
        return str(uuid.UUID(id))
    except ValueError:
        raise NotFoundError(f"no image with id {id!r}") from None


class ApiController(Controller):
    path = "/api"
    tags = ["api"]  # noqa: RUF012 - Litestar's own attribute type

    @post("/describe", status_code=200)
    async def describe(
        self,
        services: NamedDependency[Services],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
        profile: FromQuery[str | None] = None,
        captioner: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Describe an uploaded image (multipart field `image`); nothing is stored.
        `captioner` picks one of the captioners this server has loaded."""
        services.describer.check_loaded(captioner)
        upload = data.get("image")
        if not isinstance(upload, UploadFile):
            raise NotAnImageError("send the image as a multipart file field named 'image'")
        content = await upload.read()
        name = upload.filename or "upload"
        result = await services.lane.run(
            lambda: services.describer.describe(content, profile=profile, captioner=captioner, name=name)
        )
        return msgspec.to_builtins(result)

    @get("/search")
    async def search(
        self,
        services: NamedDependency[Services],
        q: FromQuery[str] = "",
        tag: FromQuery[list[str] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> SearchResponse:
        tags = tag or []
        hits = await services.lane.run(lambda: services.search.search(q, tags, limit))
        return SearchResponse(query=q, tags=tags, hits=hits)

    @get("/index/status")
    async def index_status(self, services: NamedDependency[Services]) -> dict[str, Any]:
        return services.index_status()

    @get("/images/{id:str}")
    async def image(self, services: NamedDependency[Services], id: FromPath[str]) -> dict[str, Any]:
        record = services.store.get(check_id(id))
        if record is None:
            raise NotFoundError(f"no image with id {id!r}")
        return {"id": check_id(id), **msgspec.to_builtins(record)}

    @get("/images/{id:str}/thumbnail", media_type="image/webp")
    async def thumbnail(self, services: NamedDependency[Services], id: FromPath[str]) -> File:
        from indexer.thumbs import thumbnail_path

        path = thumbnail_path(services.settings.data_dir, check_id(id))
        if not path.is_file():
            raise NotFoundError(f"no thumbnail for image {id!r}")
        return File(path, content_disposition_type="inline", media_type="image/webp")

    @get("/images/{id:str}/file")
    async def original(self, services: NamedDependency[Services], id: FromPath[str]) -> File:
        """The original file, found through the store's record — never a path from the request."""
        record = services.store.get(check_id(id))
        root = services.watch_root
        if record is None or root is None:
            raise NotFoundError(f"no image with id {id!r}")
        base = root.resolve()
        for rel in record.paths:
            path = (base / rel).resolve()
            if path.is_relative_to(base) and path.is_file():
                return File(path, content_disposition_type="inline", filename=path.name)
        raise NotFoundError(f"the file for image {id!r} is no longer in the watched folder")

    @get("/tags")
    async def tag_counts(
        self,
        services: NamedDependency[Services],
        tag: FromQuery[list[str] | None] = None,
    ) -> list[TagCount]:
        return [TagCount(t, c) for t, c in services.search.facets(tag or [])]
