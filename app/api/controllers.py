"""REST endpoints. Handlers are thin: parse, call a service, return a struct.

Each handler lists the error statuses it can answer with, so the OpenAPI
document at /api/docs matches what the server sends (tests/test_app_openapi.py
checks it with schemathesis). The rule for uploads: 400 when the request is
malformed (not multipart, or no `image` file field), 415 only when the file
is not a supported image. Blocking work runs off the event loop: model inference
on `services.lane`, store and file-system reads on `services.reads`.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import File

from app.api.edits import ImageEdits
from app.api.schemas import DescribeForm, SearchResponse, TagCount, image_body
from app.auth.accounts import Role
from app.errors import NotFoundError, check_id, errors
from app.services import Services
from catalog.names import on_disk
from catalog.store.base import StoredImage
from catalog.thumbs import thumbnail_path
from indexer.status import IndexStatus
from search.collapse import collapsed_search
from search.query import parse_query
from search.service import clean_query

# Python's table lacks it, and the watcher indexes .dib files
mimetypes.add_type("image/bmp", ".dib")

# Litestar documents a file's Last-Modified as a date-time; it is an HTTP date.
HTTP_DATE = ResponseHeader(
    name="last-modified",
    value="Wed, 21 Oct 2015 07:28:00 GMT",
    description="When the file last changed, as an HTTP date (RFC 9110)",
    documentation_only=True,
)


def original_path(root: Path, record: StoredImage) -> Path | None:
    """The first of the record's paths that is still a file inside the watched folder."""
    base = root.resolve()
    # a name that is not UTF-8 is stored escaped (catalog/names.py): its own spelling next
    for rel in dict.fromkeys(n for stored in record.paths for n in (stored, on_disk(stored))):
        path = (base / rel).resolve()
        if path.is_relative_to(base) and path.is_file():
            return path
    return None


# a file is shown as the type we name (from its extension), never as what a browser sniffs
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


class ApiController(ImageEdits):  # with PATCH /images/{id} and POST /images/tags (app/api/edits.py)
    path = "/api"
    tags = ["api"]  # noqa: RUF012 - Litestar's own attribute type

    @post(
        "/describe",
        role=Role.editor,
        status_code=200,
        responses=errors(400, 403, 404, 409, 413, 415, 422, 503),
    )
    async def describe(
        self,
        services: NamedDependency[Services],
        data: Annotated[DescribeForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        profile: FromQuery[str | None] = None,
        captioner: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Describe an uploaded image (multipart file field `image`); nothing is stored.
        `captioner` picks one of the captioners this server has loaded; the optional
        field `prompt` is checked against what is seen (`prompt_check` in the answer)."""
        services.describer.check_loaded(captioner)
        content = await data.image.read()
        name = data.image.filename or "upload"
        prompt = data.prompt or None
        result = await services.lane.run(
            lambda: services.describer.describe(
                content, profile=profile, captioner=captioner, name=name, prompt=prompt
            )
        )
        return msgspec.to_builtins(result)

    @get(
        "/search",
        role=Role.viewer,
        description='Images by what they show, best first. In `q`, `-word` and `-"two words"` leave '
        "out images whose description, visible text or tags hold them (whole words, any case, plurals "
        "folded); malformed syntax (a lone `-`, an unclosed quote) is read leniently, never refused. "
        "With query text each hit carries `why`.",
        responses=errors(400, 503),
    )
    async def search(
        self,
        services: NamedDependency[Services],
        q: FromQuery[str] = "",
        tag: FromQuery[tuple[str, ...]] = (),
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        not_tag: Annotated[
            tuple[str, ...], QueryParameter(description="Leave out images with this tag (repeatable)")
        ] = (),
        collapse: Annotated[
            bool,
            QueryParameter(
                description="One hit per family of near copies and generation variants; `collapsed` "
                "counts the others (search/collapse.py)"
            ),
        ] = False,
    ) -> SearchResponse:
        tags, not_tags = list(tag), list(not_tag)
        # on the read pool: a search never waits behind (or is refused for) a describe
        hits = await services.reads.run(
            lambda: (
                collapsed_search(services.search, services.families, q, tags, limit, not_tags=not_tags)
                if collapse
                else services.search.search(q, tags, limit, not_tags=not_tags)
            )
        )
        excluded = list(parse_query(clean_query(q)).excluded)
        return SearchResponse(query=q, tags=tags, hits=hits, not_tags=not_tags, excluded=excluded)

    @get("/index/status", role=Role.viewer, responses=errors(503))
    async def index_status(self, services: NamedDependency[Services]) -> IndexStatus:
        """Files indexed, pending and failed (the most recent failures with their reason).
        `indexed` counts files, `images` distinct contents; `ready` (only while a folder is
        watched) turns true once the start-up scan has queued its work."""
        return await services.reads.run(services.index_status)

    @get("/images/{id:str}", role=Role.viewer, responses=errors(400, 404, 503))
    async def image(self, services: NamedDependency[Services], id: FromPath[str]) -> dict[str, Any]:
        image_id = check_id(id)
        record = await services.reads.run(lambda: services.store.get(image_id))
        if record is None:
            raise NotFoundError(f"no image with id {id!r}")
        return image_body(image_id, record)  # with what people changed (app/api/edits.py)

    @get(
        "/images/{id:str}/thumbnail",
        role=Role.viewer,
        media_type="image/webp",
        content_media_type="image/webp",
        response_description="A small WebP preview",
        response_headers=[HTTP_DATE],
        responses=errors(400, 404, 503),
    )
    async def thumbnail(self, services: NamedDependency[Services], id: FromPath[str]) -> File:
        path = thumbnail_path(services.settings.data_dir, check_id(id))
        if not await services.reads.run(path.is_file):
            raise NotFoundError(f"no thumbnail for image {id!r}")
        return File(path, content_disposition_type="inline", media_type="image/webp", headers=NOSNIFF)

    @get(
        "/images/{id:str}/file",
        role=Role.viewer,
        media_type="image/*",  # the file's own type: image/jpeg, image/png, …
        content_media_type="image/*",
        response_description="The original image file",
        response_headers=[HTTP_DATE],
        responses=errors(400, 404, 503),
    )
    async def original(self, services: NamedDependency[Services], id: FromPath[str]) -> File:
        """The original file, found through the store's record — never a path from the request."""
        image_id, root = check_id(id), services.watch_root
        record = await services.reads.run(lambda: services.store.get(image_id))
        if record is None:
            raise NotFoundError(f"no image with id {id!r}")
        if root is None:  # a read-only catalog: the files are where the indexing job read them
            raise NotFoundError(
                f"image {id!r} is in the catalog, but this server watches no folder to serve it from"
            )
        path = await services.reads.run(lambda: original_path(root, record))
        if path is None:
            raise NotFoundError(f"the file for image {id!r} is no longer in the watched folder")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return File(
            path,
            content_disposition_type="inline",
            filename=path.name,
            media_type=media_type,
            headers=NOSNIFF,
        )

    @get("/tags", role=Role.viewer, responses=errors(400, 503))
    async def tag_counts(
        self,
        services: NamedDependency[Services],
        tag: FromQuery[tuple[str, ...]] = (),
    ) -> list[TagCount]:
        counts = await services.reads.run(lambda: services.search.facets(tag))
        return [TagCount(t, c) for t, c in counts]
