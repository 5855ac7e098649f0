"""The describe page: upload an image, read its description, and only if asked,
add it to the catalog (copy it into the watched folder).

The upload waits in the UploadArea under its sha256; the "add" form carries
only that hash and the suggested name, both checked here, so nothing the client
sends becomes a path.

Nothing blocking runs on the event loop: the describe itself on the model lane,
store reads and the status bar on the read pool, and the upload area's disk work
(write, look-up, copy, delete) in a worker thread.
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

from app.auth.accounts import Role
from app.errors import NotFoundError
from app.services import Services
from app.web.responses import layout, page
from app.web.uploads import UploadArea, UploadError, copy_into
from app.web.views import captioner_choices, swatches
from catalog.store.base import point_id
from describe.errors import ImgdescError


def form(
    services: Services, profile: str | None = None, captioner: str | None = None, prompt: str | None = None
) -> dict[str, Any]:
    describer = services.describer
    return {
        "prompt": prompt or "",
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

    @get("/", name="describe", role=Role.editor)
    async def show(self, services: NamedDependency[Services]) -> Template:
        context = await services.reads.run(
            lambda: layout(services, "describe", **form(services), **empty_result())
        )
        return Template("pages/describe.html", context=context)

    @post("/", name="describe-upload", role=Role.editor, status_code=200)
    async def upload(
        self,
        request: HTMXRequest,
        services: NamedDependency[Services],
        uploads: NamedDependency[UploadArea],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template:
        profile = str(data.get("profile") or "") or None
        captioner = str(data.get("captioner") or "") or None
        prompt = str(data.get("prompt") or "").strip() or None
        context = await services.reads.run(
            lambda: layout(
                services, "describe", **form(services, profile, captioner, prompt), **empty_result()
            )
        )
        upload = data.get("image")
        try:
            services.describer.check_loaded(captioner)  # the REST API's rule: no model loads per request
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ImgdescError("Choose an image first (a file, or drop one on the box).")  # 400
            content = await upload.read()
            name = upload.filename
            result = await services.lane.run(
                lambda: services.describer.describe(
                    content, profile=profile, captioner=captioner, name=name, prompt=prompt
                )
            )
        except ImgdescError as exc:
            # shown next to the form, which stays filled in; htmx swaps 4xx bodies (see base.html)
            context["error"] = exc.message
            response = page(request, "describe.html", "described.html", "result", context)
            response.status_code = exc.status_code
            return response
        staged = await asyncio.to_thread(uploads.put, content, name)  # up to max_bytes of disk I/O
        image_id = point_id(staged.sha256)
        existing = await services.reads.run(lambda: services.store.get(image_id))
        context.update(
            result=msgspec.to_builtins(result),
            swatches=swatches(result.colors),
            staged=staged.sha256,
            filename=name,
            in_catalog=existing is not None,
            image_id=image_id,
        )
        return page(request, "describe.html", "described.html", "result", context)

    @post("/add", name="describe-add", role=Role.editor, status_code=200)
    async def add(
        self,
        request: HTMXRequest,
        services: NamedDependency[Services],
        uploads: NamedDependency[UploadArea],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Template:
        """Copy a described upload into the watched folder; the watcher indexes it."""
        root = services.watch_root
        staged = await asyncio.to_thread(uploads.get, str(data.get("sha256", "")))
        if root is None:
            raise UploadError("this server watches no folder, so there is no catalog to add to")
        if staged is None:
            raise NotFoundError("this upload is no longer waiting here; describe it again to add it")
        image_id = point_id(staged.sha256)
        existing = await services.reads.run(lambda: services.store.get(image_id))
        if existing is not None:
            added = {"name": existing.paths[0] if existing.paths else existing.filename, "new": False}
        else:
            filename, watcher = str(data.get("filename", "")), services.watcher

            def copy() -> str:
                rel = copy_into(root, staged.path, filename)
                if watcher is not None:
                    watcher.enqueue(rel)  # pending at once, before the file event arrives
                return rel

            added = {"name": await asyncio.to_thread(copy), "new": True}
        await asyncio.to_thread(uploads.discard, staged)
        context = await services.reads.run(
            lambda: layout(services, "describe", **form(services), **empty_result())
        )
        context.update(added=added, image_id=image_id)
        response = page(request, "describe.html", "added.html", "add-result", context)
        response.headers["HX-Trigger"] = "imgdesc-added"  # wakes the status bar up
        return response

    @get("/uploads/{sha256:str}", name="describe-preview", role=Role.editor)
    async def preview(self, uploads: NamedDependency[UploadArea], sha256: FromPath[str]) -> File:
        """The waiting upload, by its hash only (checked to be 64 hex digits)."""
        staged = await asyncio.to_thread(uploads.get, sha256)
        if staged is None:
            raise NotFoundError("this upload is no longer waiting here")
        return File(
            staged.path,
            media_type=staged.media_type,
            content_disposition_type="inline",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=600"},
        )
