"""The "Duplicates & variants" page: each group of near copies and generation variants with
its members side by side (size, format, date), the member suggested to keep, a way to mark
the group reviewed, and to hide members from search or show them again. Nothing is ever
deleted. The same families as the REST API (app/api/similar.py, catalog/families/).

Plain forms: without JavaScript a decision answers 303 back to the page; with htmx it
answers the list of groups alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.auth.accounts import Role
from app.errors import NotFoundError, check_id
from app.services import Services
from app.web.edits import Form, back_to, first, values
from app.web.responses import layout, page
from catalog.families.listing import duplicate_groups
from catalog.families.rules import KINDS
from describe.errors import ImgdescError

# which groups the page lists: not yet reviewed (the work left), reviewed, or all
SHOWN = {"todo": False, "reviewed": True, "all": None}


class DecisionError(ImgdescError):
    status_code = 400


def duplicates_context(services: Services, kind: str, shown: str) -> dict[str, Any]:
    families = services.families
    groups = duplicate_groups(families, services.store, kind or None, SHOWN[shown])
    return layout(
        services,
        "duplicates",
        groups=groups,
        kind=kind,
        shown=shown,
        kinds=KINDS,
        complete=families.synced,
        url=f"/duplicates?kind={kind}&shown={shown}",
    )


def _choice(value: str | None, allowed: tuple[str, ...] | list[str], default: str) -> str:
    return value if value is not None and value in allowed else default


def _records(services: Services, form: dict[str, Any]) -> dict[str, Any]:
    ids = [check_id(i) for i in values(form, "id")]
    if not ids:
        raise DecisionError("Nothing chosen: this form sends no image.")
    records = services.store.get_many(ids)
    missing = [i for i in ids if i not in records]
    if missing:
        raise NotFoundError("One of these images is no longer in the catalog; reload the page.")
    return records


class DuplicatesController(Controller):
    @get("/duplicates", name="duplicates", role=Role.viewer)
    async def duplicates(
        self,
        request: HTMXRequest,
        services: NamedDependency[Services],
        kind: FromQuery[str | None] = None,
        shown: FromQuery[str | None] = None,
    ) -> Template:
        chosen_kind = _choice(kind, ("", *KINDS), "")
        chosen_shown = _choice(shown, list(SHOWN), "todo")
        context = await services.reads.run(lambda: duplicates_context(services, chosen_kind, chosen_shown))
        return page(request, "duplicates.html", "groups.html", "groups", context)

    @post("/duplicates/review", name="duplicates-review", role=Role.editor, status_code=200)
    async def review(self, request: HTMXRequest, services: NamedDependency[Services], data: Form) -> Any:
        """`id` (each member), `kind`, `reviewed` ("1" or "0")."""
        kind = _choice(first(data, "kind"), KINDS, "")
        if not kind:
            raise DecisionError("This form names no kind of group.")
        reviewed = first(data, "reviewed") != "0"
        await services.reads.run(
            lambda: services.families.set_reviewed(_records(services, data), kind, reviewed)
        )
        return await self._answer(request, services)

    @post("/duplicates/hide", name="duplicates-hide", role=Role.editor, status_code=200)
    async def hide(self, request: HTMXRequest, services: NamedDependency[Services], data: Form) -> Any:
        """`id` (one or more), `hidden` ("1" or "0")."""
        hidden = first(data, "hidden") != "0"
        await services.reads.run(lambda: services.families.set_hidden(_records(services, data), hidden))
        return await self._answer(request, services)

    async def _answer(self, request: HTMXRequest, services: NamedDependency[Services]) -> Any:
        back = back_to(request, "/duplicates")
        if not request.htmx:
            return Redirect(back, status_code=303)
        query = dict(parse_qsl(urlsplit(back).query))
        kind = _choice(query.get("kind"), ("", *KINDS), "")
        shown = _choice(query.get("shown"), list(SHOWN), "todo")
        context = await services.reads.run(lambda: duplicates_context(services, kind, shown))
        return page(request, "duplicates.html", "groups.html", "groups", context)
