"""How the pages answer: a whole page, or — for an htmx request aimed at one part of
the page — just that fragment, rendered from the same context; and the headers
every page carries."""

from __future__ import annotations

from typing import Any

from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Template

from app.services import Services
from app.web.views import status_view

# Defence in depth behind autoescaping: only our own scripts run (htmx needs no eval
# for the attributes we use), nothing loads from elsewhere, and no other site may
# frame the pages (a framed "Add to catalog" button could be clicked by trickery).
# Inline style attributes stay allowed: swatches and object boxes use them.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
# Full pages and htmx fragments share URLs: caches must keep them apart.
VARY = {"Vary": "HX-Request, HX-Target"}


def page(request: HTMXRequest, name: str, fragment: str, target: str, context: dict[str, Any]) -> Template:
    """The fragment when htmx asks for `target`, else the whole page (which includes
    the fragment). A history restore always gets the whole page. Names are relative
    to templates/pages/ and templates/partials/."""
    htmx = request.htmx
    if htmx and htmx.target == target and not htmx.history_restore_request:
        return HTMXTemplate(template_name=f"partials/{fragment}", context=context, headers=dict(VARY))
    return Template(f"pages/{name}", context=context, headers=dict(VARY))


def layout(services: Services, nav: str, **context: Any) -> dict[str, Any]:
    """What every page's layout needs: the status bar and which tab is current.
    Reads the index status (blocking): call it on `services.reads`."""
    return {"status": status_view(services.index_status()), "nav": nav, **context}
