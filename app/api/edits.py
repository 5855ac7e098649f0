"""REST endpoints for people's corrections: one image's tags and description, and a tag
added to or taken off many images at once. The machine's words stay beside the person's
(`machine_description`, `machine_tags`), and search sees the change as soon as it is
answered (catalog/curate.py).

The work runs on `services.reads`, not on the model lane: an edit is a store read, one
small embedding and an upsert, like a search in cost, so it must neither wait behind a
describe nor be refused when the describer is busy.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from app.api.schemas import CLOSED, ImageEdit, TagChange, TagChangeResult, image_body
from app.auth.access import account_name
from app.auth.accounts import Role
from app.errors import check_id, errors
from app.services import Services
from catalog.edits import Patch


def allowed_methods(request: Request[Any, Any, Any]) -> Response[None] | None:
    """Answers OPTIONS with every method of the route. Litestar 2 answers it with the
    methods of the first handler registered on a path only (litestar#4169, fixed in v3),
    which was harmless while each API path had one method."""
    if request.method != "OPTIONS":
        return None
    template = request.scope.get("path_template")
    route = next((r for r in request.app.routes if r.path_format == template), None)
    if route is None:
        return None
    return Response(None, status_code=204, headers={"Allow": ", ".join(sorted(route.methods))})


class ImageEdits(Controller):
    """The edit handlers. ApiController inherits them (Litestar refuses two controllers'
    handlers on one path: PATCH and GET /api/images/{id})."""

    path = "/api"
    tags = ["api"]  # noqa: RUF012 - Litestar's own attribute type
    before_request = staticmethod(allowed_methods)

    @patch("/images/{id:str}", role=Role.editor, responses=errors(400, 403, 404, 413, 503, 507))
    async def edit_image(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        id: FromPath[str],
        data: Annotated[ImageEdit, CLOSED],
    ) -> dict[str, Any]:
        """Correct one image: add and remove tags, set the description (null: back to the
        machine's text). Answers the image as GET does, `edit` saying what was changed and
        when; edits belong to the content and follow it through moves, copies, restarts and
        re-descriptions."""
        image_id = check_id(id)
        change = Patch(add_tags=data.add_tags, remove_tags=data.remove_tags, description=data.description)
        who = account_name(request)  # None while auth is off
        record = await services.reads.run(lambda: services.curator.edit(image_id, change, who))
        return image_body(image_id, record)

    @post("/images/tags", role=Role.editor, status_code=200, responses=errors(400, 403, 404, 413, 503, 507))
    async def change_tags(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: Annotated[TagChange, CLOSED],
    ) -> TagChangeResult:
        """Add tags to, and take tags off, every image in `ids`. An unknown id is 404 and
        changes nothing; `changed` lists the images whose record the change altered."""
        ids = [check_id(i) for i in data.ids]
        change = Patch(add_tags=data.add, remove_tags=data.remove)
        who = account_name(request)
        edited = await services.reads.run(lambda: services.curator.edit_many(ids, change, who))
        return TagChangeResult(images=len(edited.records), changed=edited.changed)
