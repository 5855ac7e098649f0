"""The describe page: upload an image, read its description, and only if asked,
add it to the catalog (copy it into the watched folder).

The upload waits in the UploadArea under its sha256; the "add" form carries
only that hash and the suggested name, both checked here, so nothing the client
sends becomes a path.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import File, Template

from app.errors import NotFoundError
from app.pages import layout, page
from app.services import Services
from app.uploads import UploadArea, UploadError, copy_into
from app.views import captioner_choices, swatches
from describe.errors import ImgdescError
from indexer.store.base import point_id


def form(services: Services, profile: str | None = None, captioner: str | None = None) -> dict[str, Any]:
    describer = services.describer
    return {
        "profiles": [(p.name, p.description) for p in describer.profiles],
        "profile": profile or describer.settings.profile,
        "captioners": captioner_choices(describer),
        "captioner": captioner or describer.captioner,
        "can_add": services.watch_root is not None,
    }


def empty_result() -> dict[str, Any]:
    return {"result": None, "staged": None, "filename": "", "error": None, "added": None}


class DescribeController(Controller):
    path = "/describe"

    @get("/", name="describe")
    async def show(self, services: NamedDependency[Services]) -> Template:
        return Template(
            "describe.html", context=layout(services, "describe", **form(services), **empty_result())
        )

    @post("/", name="describe-upload", status_code=200)
    async def upload(
        self,
        request: HTMXRequest,
        services: NamedDependency[Services],
        uploads: NamedDependency[UploadArea],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template:
        profile = str(data.get("profile") or "") or None
        captioner = str(data.get("captioner") or "") or None
        context = layout(services, "describe", **form(services, profile, captioner), **empty_result())
        upload = data.get("image")
        try:
            services.describer.check_loaded(captioner)  # the REST API's rule: no model loads per request
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ImgdescError("Choose an image first (a file, or drop one on the box).")  # 400
            content = await upload.read()
            name = upload.filename
            result = await services.lane.run(
                lambda: services.describer.describe(content, profile=profile, captioner=captioner, name=name)
            )
        except ImgdescError as exc:
            # shown next to the form, which stays filled in; htmx swaps 4xx bodies (see base.html)
            context["error"] = exc.message
            response = page(request, "describe.html", "_described.html", "result", context)
            response.status_code = exc.status_code
            return response
        staged = await asyncio.to_thread(uploads.put, content, name)  # up to max_bytes of disk I/O
        context.update(
            result=msgspec.to_builtins(result),
            swatches=swatches(result.colors),
            staged=staged.sha256,
            filename=name,
            in_catalog=services.store.get(point_id(staged.sha256)) is not None,
            image_id=point_id(staged.sha256),
        )
        return page(request, "describe.html", "_described.html", "result", context)

    @post("/add", name="describe-add", status_code=200)
    async def add(
        self,
        request: HTMXRequest,
        services: NamedDependency[Services],
        uploads: NamedDependency[UploadArea],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Template:
        """Copy a described upload into the watched folder; the watcher indexes it."""
        root = services.watch_root
        staged = uploads.get(str(data.get("sha256", "")))
        if root is None:
            raise UploadError("this server watches no folder, so there is no catalog to add to")
        if staged is None:
            raise NotFoundError("this upload is no longer waiting here; describe it again to add it")
        image_id = point_id(staged.sha256)
        existing = services.store.get(image_id)
        if existing is not None:
            added = {"name": existing.paths[0] if existing.paths else existing.filename, "new": False}
        else:
            rel = await asyncio.to_thread(copy_into, root, staged.path, str(data.get("filename", "")))
            if services.watcher is not None:
                services.watcher.enqueue(rel)  # pending at once, before the file event arrives
            added = {"name": rel, "new": True}
        uploads.discard(staged)
        context = layout(services, "describe", **form(services), **empty_result())
        context.update(added=added, image_id=image_id)
        response = page(request, "describe.html", "_added.html", "add-result", context)
        response.headers["HX-Trigger"] = "imgdesc-added"  # wakes the status bar up
        return response

    @get("/uploads/{sha256:str}", name="describe-preview")
    async def preview(self, uploads: NamedDependency[UploadArea], sha256: FromPath[str]) -> File:
        """The waiting upload, by its hash only (checked to be 64 hex digits)."""
        staged = uploads.get(sha256)
        if staged is None:
            raise NotFoundError("this upload is no longer waiting here")
        return File(
            staged.path,
            media_type=staged.media_type,
            content_disposition_type="inline",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=600"},
        )
