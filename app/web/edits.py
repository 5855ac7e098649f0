"""The pages' side of people's corrections: the editor on the image page (tag chips to take
off, a tag to add, the description with a way back to the machine's text) and the bulk
tag bar of the search page. The same Curator as the REST API (catalog/curate.py).

Plain HTML forms: without JavaScript a change answers 303 back to the page it came from;
with htmx it answers just the part that changed (the editor, or the search results).
Posts from other sites are refused by app/guards.py, as for every form here.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect

from app.auth.access import account_name
from app.auth.accounts import Role
from app.errors import check_id
from app.services import Services
from app.web.pages import image_context, search_context
from app.web.responses import page
from app.web.views import clean_tags
from catalog.edits import EditError, Patch
from describe.errors import ImgdescError
from search.service import clean_query

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def values(form: dict[str, Any], name: str) -> list[str]:
    """A form field's values: Litestar gives one value as a string, several as a list."""
    value = form.get(name)
    items = value if isinstance(value, list) else [] if value is None else [value]
    return [str(v) for v in items]


def first(form: dict[str, Any], name: str) -> str:
    found = values(form, name)
    return found[0] if found else ""


def image_patch(form: dict[str, Any]) -> Patch:
    """What one editor form asks: `remove` (a chip's button), `add` (the new tag field),
    `machine` (back to the machine's text) or `description` (the text to keep)."""
    if "remove" in form:
        return Patch(remove_tags=values(form, "remove"))
    if "add" in form:
        added = [t for t in values(form, "add") if t.strip()]
        if not added:
            raise EditError("Type a tag to add first.")
        return Patch(add_tags=added)
    if first(form, "machine"):
        return Patch(description=None)
    if "description" in form:
        return Patch(description=first(form, "description"))
    raise EditError("Nothing to change: this form sends no tag and no description.")


def back_to(request: HTMXRequest, default: str = "/") -> str:
    """Where a plain form goes after a change: the page it was sent from (its path and
    query only, so it is always this site), else `default`."""
    referer = request.headers.get("referer", "")
    try:
        parts = urlsplit(referer)
    except ValueError:
        return default
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


class EditsController(Controller):
    @post("/images/{id:str}/edit", name="image-edit", role=Role.editor, status_code=200)
    async def edit(
        self, request: HTMXRequest, services: NamedDependency[Services], id: FromPath[str], data: Form
    ) -> Response[Any]:
        image_id = check_id(id)
        error: ImgdescError | None = None
        try:
            change = image_patch(data)
            who = account_name(request)  # None while auth is off
            await services.reads.run(lambda: services.curator.edit(image_id, change, who))
        except EditError as exc:  # shown in the editor, which stays as it was
            error = exc
        if error is None and not request.htmx:
            return Redirect(path=f"/images/{image_id}", status_code=303)
        context = await services.reads.run(lambda: image_context(services, image_id))
        context["edit_error"] = error.message if error else None
        response = page(request, "image.html", "editor.html", "editor", context)
        if error is not None:
            response.status_code = error.status_code
        return response

    @post("/bulk-tags", name="bulk-tags", role=Role.editor, status_code=200)
    async def bulk(
        self, request: HTMXRequest, services: NamedDependency[Services], data: Form
    ) -> Response[Any]:
        """A tag added to (or taken off) the images ticked on the search page. With htmx the
        search form's own fields come along (`q`, `tag`), and the results are answered."""
        ids = [check_id(i) for i in values(data, "id")]
        tag = first(data, "bulk_tag")
        if not tag.strip():
            raise EditError("Type the tag to add to (or remove from) the selected images.")
        if not ids:
            raise EditError("Tick the images to change first.")
        change = Patch(remove_tags=[tag]) if first(data, "action") == "remove" else Patch(add_tags=[tag])
        who = account_name(request)
        await services.reads.run(lambda: services.curator.edit_many(ids, change, who))
        if not request.htmx:
            return Redirect(path=back_to(request), status_code=303)
        query, tags = clean_query(first(data, "q")), clean_tags(values(data, "tag"))
        not_tags = clean_tags(values(data, "not_tag"))  # the page's exclusions stay
        context = await services.reads.run(lambda: search_context(services, query, tags, not_tags))
        return page(request, "search.html", "results.html", "results", context)
