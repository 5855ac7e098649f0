"""The htmx pages: search, image details, failed files and the status bar.

Handlers are thin: parse, call the services the REST API uses, and return a
full page — or, for an htmx request aimed at a part of the page, just that
fragment, rendered from the same context.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Template

from app.auth.accounts import Role
from app.errors import NotFoundError, check_id
from app.runtime import Runtime
from app.services import Services
from app.web.exclusions import exclude_links, exclusion_chips
from app.web.responses import VARY, layout, page
from app.web.views import (
    boxes,
    chips,
    clean_tags,
    hit_tag_counts,
    search_url,
    status_view,
    swatches,
)
from app.web.why import why_views
from search.collapse import collapsed_search
from search.service import SearchHit, clean_query
from search.similar import SimilarImages

PAGE_LIMIT = 60
# Filters worth offering whenever they match, however rare: the images whose generation
# prompt the picture doesn't bear out, and those marked AI-generated (describe/render/tags.py).
PINNED_TAGS = ("prompt-mismatch", "ai-generated")
# the catalog's most common tags, offered as suggestions in the image page's tag editor
KNOWN_TAGS = 200
SIMILAR_STRIP = 8  # images in the image page's "Similar images" strip


def search_context(
    services: Services, query: str, tags: list[str], not_tags: Sequence[str] = (), collapse: bool = True
) -> dict[str, Any]:
    """`not_tags`: tags left out (normalised, as clean_tags gives them); `-word`s are in `query`.
    `collapse`: one hit per family of near copies and variants (search/collapse.py)."""
    if collapse:
        hits = collapsed_search(
            services.search, services.families, query, tags, PAGE_LIMIT, not_tags=not_tags
        )
    else:
        hits = services.search.search(query, tags, PAGE_LIMIT, not_tags=not_tags)
    # with text (or -words), chips count tags among what was found; without, over the catalog
    counts = (
        hit_tag_counts(h.tags for h in hits) if query else services.search.facets(tags, not_tags=not_tags)
    )
    found = dict(counts)

    def pinned_count(tag: str) -> int:
        return (
            found.get(tag, 0)
            if query or tag in found
            else services.store.count([*tags, tag], not_tags=not_tags)
        )

    pinned = [(t, pinned_count(t)) for t in PINNED_TAGS]
    shown = chips(query, tags, counts, pinned, not_tags)  # chips() leaves out the ones matching nothing
    return layout(
        services,
        "search",
        query=query,
        tags=tags,
        hits=hits,
        chips=shown,
        catalog_size=services.store.count(),
        clear_url=search_url("", []),
        url=search_url(query, tags, not_tags),
        # what is left out, each removable (app/web/exclusions.py), and why each hit matched
        not_tags=not_tags,
        exclusions=exclusion_chips(query, tags, not_tags),
        exclude_links=exclude_links(query, tags, not_tags, (c.tag for c in shown if not c.active)),
        why=why_views(hits),
        collapse=collapse,
    )


def similar_strip(services: Services, image_id: str) -> list[SearchHit]:
    families = services.families
    return SimilarImages(services.store, families, hidden=families.hidden_ids).similar(
        image_id, SIMILAR_STRIP
    )


def image_context(services: Services, image_id: str) -> dict[str, Any]:
    record = services.store.get(image_id)
    if record is None:
        raise NotFoundError(
            "No image with this id. If you have just added it, it is still being indexed: reload in a moment."
        )
    composition = record.composition
    facts = []
    if composition is not None:
        facts = [
            ("Orientation", f"{composition.orientation} ({composition.aspect_ratio}:1)"),
            ("Shot", composition.shot or "—"),
            ("Main subject", composition.subject_position or "—"),
            ("Lighting", composition.lighting),
            ("Brightness", f"{composition.brightness:.0%}"),
            ("Contrast", f"{composition.contrast:.0%}"),
            ("Saturation", f"{composition.saturation:.0%}"),
            ("Focus", "blurry" if composition.blurry else f"sharp ({composition.sharpness:.0f})"),
            ("Background", "plain" if composition.plain_background else "busy"),
            ("Mostly text", "yes" if composition.text_heavy else "no"),
        ]
    return layout(
        services,
        "image",
        id=image_id,
        record=record,
        swatches=swatches(record.colors),
        boxes=boxes(record.boxes),
        composition=facts,
        timings=sorted(record.timings_ms.items(), key=lambda kv: kv[0] == "total"),
        # the editor (partials/editor.html, app/web/edits.py)
        known_tags=[tag for tag, _ in services.search.facets(limit=KNOWN_TAGS)],
        added_tags=set(record.edit.add_tags) if record.edit else set(),
        edit_error=None,
        # more like this (partials/similar.html, search/similar.py)
        similar=similar_strip(services, image_id),
        near_copies=len(services.families.near_ids(image_id)),
    )


def failed_context(services: Services) -> dict[str, Any]:
    status = services.index_status()
    return {
        "status": status_view(status),
        "nav": "failed",
        "failures": status.failures,
        "total": status.failed,
    }


class PagesController(Controller):
    @get("/", name="search", role=Role.viewer)
    async def search(
        self,
        request: HTMXRequest,
        services: NamedDependency[Services],
        q: FromQuery[str] = "",
        tag: FromQuery[list[str] | None] = None,
        not_tag: FromQuery[list[str] | None] = None,
        collapse: FromQuery[str | None] = None,
    ) -> Template:
        query, tags, not_tags = clean_query(q), clean_tags(tag), clean_tags(not_tag)
        folded = collapse != "0"  # on unless asked off: one hit per family of copies
        # store work on the read pool: never behind a describe, never on the event loop
        context = await services.reads.run(lambda: search_context(services, query, tags, not_tags, folded))
        return page(request, "search.html", "results.html", "results", context)

    @get("/images/{id:str}", name="image", role=Role.viewer)
    async def image(self, services: NamedDependency[Services], id: FromPath[str]) -> Template:
        image_id = check_id(id)
        context = await services.reads.run(lambda: image_context(services, image_id))
        return Template("pages/image.html", context=context)

    @get("/failed", name="failed", role=Role.viewer)
    async def failed(self, services: NamedDependency[Services]) -> Template:
        context = await services.reads.run(lambda: failed_context(services))
        return Template("pages/failed.html", context=context)

    @get("/fragments/status", name="status", role=Role.viewer)
    async def status(self, request: HTMXRequest, seen: FromQuery[int | None] = None) -> Response[Any]:
        """The status bar. It does not need the services to be ready: while models load
        it says so. When the indexed count moved since the page last saw it, the
        `imgdesc-indexed` event lets the search results refresh themselves."""
        runtime: Runtime = request.app.state["runtime"]
        services = runtime.services
        if services is None:
            view = status_view(None, runtime.state, runtime.error)
        else:
            view = status_view(await services.reads.run(services.index_status))
        headers = dict(VARY)
        if seen is not None and services is not None and view["indexed"] != seen:
            headers["HX-Trigger"] = "imgdesc-indexed"
        return HTMXTemplate(template_name="partials/status.html", context={"status": view}, headers=headers)
