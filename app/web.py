"""Wiring for the htmx pages: templates, static files and HTML error pages.
server.create_app adds what `web_config` returns. Which hosts and origins may
use the pages (and everything else) is decided in app/guards.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Response, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.plugins.htmx import HTMXPlugin, HTMXTemplate
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app.config import Settings
from app.pages import VARY, PagesController
from app.pages_describe import DescribeController
from app.runtime import Runtime
from app.uploads import UploadArea
from app.views import short, status_view
from app.work import BusyError
from describe.errors import ImgdescError

log = logging.getLogger("imgdesc")

HERE = Path(__file__).parent
STATIC = HERE / "static"
# Defence in depth behind autoescaping: only our own scripts run (htmx needs no eval
# for the attributes we use), nothing loads from elsewhere, and no other site may
# frame the pages (a framed "Add to catalog" button could be clicked by trickery).
# Inline style attributes stay allowed: swatches and object boxes use them.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# What the guards (app/guards.py) answer to a foreign site or host name
REFUSED = frozenset({403, 421})
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


def http_error_message(request: Request[Any, Any, Any], exc: HTTPException) -> str:
    """Litestar's own errors in words a user can act on: a body over the size
    limit says the limit; a failed validation says what failed."""
    if exc.status_code == 413:
        max_bytes = request.app.state.get("max_bytes")
        if max_bytes:
            return f"the upload is over the {mib(max_bytes)} MiB limit"
    extra = exc.extra if isinstance(exc.extra, list) else []
    problems = [p["message"] for p in extra if isinstance(p, dict) and "message" in p]
    return f"{exc.detail}: {'; '.join(problems)}" if problems else str(exc.detail)


def mib(size: int) -> str:
    """Bytes as MiB for messages: 26214400 → '25', 2000000 → '1.9'."""
    return f"{round(size / 2**20, 1):g}"


def page_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors on pages are pages (or fragments for htmx), never JSON or a traceback."""
    status, headers = 500, {**VARY, **PAGE_HEADERS}
    if isinstance(exc, ImgdescError):
        status, message = exc.status_code, exc.message
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, http_error_message(request, exc)
        headers.update(exc.headers or {})
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "internal error; see the server log"
    if isinstance(exc, BusyError):
        headers["Retry-After"] = str(exc.retry_after)
    runtime: Runtime = request.app.state["runtime"]
    services, state = runtime.services, runtime.state
    loading = services is None and state == "loading" and status not in REFUSED
    try:
        if status in REFUSED:  # the guards' answer to another host or site shows nothing of the catalog
            status_bar = status_view(None, "refused")
        elif services is not None:
            status_bar = status_view(services.index_status())
        else:
            status_bar = status_view(None, state, runtime.error)
    except Exception:  # the status bar must never hide the real error
        status_bar = status_view(None, "failed")
    context = {"status_code": status, "message": message, "loading": loading, "status": status_bar, "nav": ""}
    if getattr(request, "htmx", False):
        return HTMXTemplate(template_name="_error.html", context=context, status_code=status, headers=headers)
    return Template("error.html", context=context, status_code=status, headers=headers)


def web_config(settings: Settings) -> dict[str, Any]:
    """Litestar arguments for the pages; server.create_app merges them in."""
    uploads = UploadArea(Path(settings.data_dir) / "uploads")
    pages = Router(
        path="/",
        route_handlers=[PagesController, DescribeController],
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
