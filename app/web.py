"""Wiring for the htmx pages: templates, static files, the same-origin check on
form posts and HTML error pages. server.create_app adds what `web_config` returns.

Why an Origin/Host check rather than Litestar's CSRFConfig: the app binds
127.0.0.1 and has no login or cookies to steal, so the risks are a hostile web
page posting a form to localhost (it could put files into the watched folder
through "add to catalog") and DNS rebinding (a hostile name resolving to
127.0.0.1, which makes the page "same-origin" and defeats token schemes). A
browser always sends Origin on a cross-site POST, and Host carries the name the
page was loaded under, so checking both stops each case, statelessly, for
htmx and plain no-JS forms alike, without a token in every form or a cookie,
and without touching the REST API's clients.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.htmx import HTMXPlugin, HTMXTemplate
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app.config import Settings
from app.uploads import UploadArea
from app.views import short, status_view
from app.work import BusyError
from describe.errors import ImgdescError

log = logging.getLogger("imgdesc")

HERE = Path(__file__).parent
STATIC = HERE / "static"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Full pages and htmx fragments share URLs: caches must keep them apart.
VARY = {"Vary": "HX-Request, HX-Target"}
# Defence in depth behind autoescaping: only our own scripts run (htmx needs no eval
# for the attributes we use), nothing loads from elsewhere, and no other site may
# frame the pages (a framed "Add to catalog" button could be clicked by trickery).
# Inline style attributes stay allowed: swatches and object boxes use them.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}


def template_dirs() -> list[Path]:
    """The package's copy first (a wheel puts templates/ there), then the repo's."""
    return [d for d in (HERE / "templates", HERE.parent / "templates") if d.is_dir()]


def template_engine() -> JinjaTemplateEngine:
    env = Environment(
        loader=FileSystemLoader(template_dirs()),
        autoescape=True,  # every filename, description, OCR text and query is user-controlled
        undefined=StrictUndefined,  # a typo in a template fails the tests instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["short"] = short
    return JinjaTemplateEngine.from_environment(env)


def same_origin(settings: Settings) -> Any:
    """A guard: unsafe requests must come from a page this server served (Origin or
    Referer equals Host) and, when bound to loopback, name a loopback host."""
    loopback_only = settings.host in LOOPBACK

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method", "GET") in SAFE_METHODS:
            return
        host = connection.headers.get("host", "")
        if loopback_only and (urlsplit(f"//{host}").hostname or "") not in LOOPBACK:
            raise PermissionDeniedException(
                f"refused: this server answers form posts for localhost, not {host!r}"
            )
        source = connection.headers.get("origin") or connection.headers.get("referer")
        if source is not None and urlsplit(source).netloc != host:
            raise PermissionDeniedException("refused: the form was posted from another site")

    return guard


def page_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors on pages are pages (or fragments for htmx), never JSON or a traceback."""
    status, headers = 500, {**VARY, **PAGE_HEADERS}
    if isinstance(exc, ImgdescError):
        status, message = exc.status_code, exc.message
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
        headers.update(exc.headers or {})
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "internal error; see the server log"
    if isinstance(exc, BusyError):
        headers["Retry-After"] = str(exc.retry_after)
    runtime = request.app.state.get("runtime")
    services = getattr(runtime, "services", None)
    state = getattr(runtime, "state", "ready")
    loading = services is None and state == "loading"
    try:
        error = getattr(runtime, "error", None)
        status_bar = status_view(services.index_status()) if services else status_view(None, state, error)
    except Exception:  # the status bar must never hide the real error
        status_bar = status_view(None, "failed")
    context = {"status_code": status, "message": message, "loading": loading, "status": status_bar, "nav": ""}
    if getattr(request, "htmx", False):
        return HTMXTemplate(template_name="_error.html", context=context, status_code=status, headers=headers)
    return Template("error.html", context=context, status_code=status, headers=headers)


def web_config(settings: Settings) -> dict[str, Any]:
    """Litestar arguments for the pages; server.create_app merges them in."""
    from app.pages import PagesController
    from app.pages_describe import DescribeController

    uploads = UploadArea(Path(settings.data_dir) / "uploads")
    pages = Router(
        path="/",
        route_handlers=[PagesController, DescribeController],
        guards=[same_origin(settings)],
        response_headers=PAGE_HEADERS,
        dependencies={"uploads": Provide(lambda: uploads, sync_to_thread=False)},
        exception_handlers={ImgdescError: page_error, HTTPException: page_error, Exception: page_error},
        include_in_schema=False,
    )
    static = create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False)
    return {
        "route_handlers": [pages, static],
        "plugins": [HTMXPlugin()],
        "template_config": TemplateConfig(instance=template_engine()),
    }
