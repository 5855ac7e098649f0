"""Errors on pages are pages (or fragments for htmx), never JSON or a traceback.

An exception handler is a plain function called on the event loop, but the status
bar on an error page needs the index status, which blocks (SQLite, or a Qdrant
server over the network). So the page is streamed: the status and code are decided
here, and the body reads the status on the read pool before it renders."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import HTTPException
from litestar.response import Stream

from app.errors import http_error_message, retry_headers
from app.runtime import Runtime
from app.web.responses import PAGE_HEADERS, VARY
from app.web.views import status_view
from describe.errors import ImgdescError

log = logging.getLogger("imgdesc")
# What the guards (app/guards.py) answer to a foreign site or host name
REFUSED = frozenset({403, 421})


async def status_bar(runtime: Runtime, status: int) -> dict[str, Any]:
    """The error page's status bar: nothing of the catalog for a refused request,
    the loading state before the services exist, else the counts (read on the pool)."""
    services = runtime.services
    try:
        if status in REFUSED:  # the guards' answer to another host or site shows nothing of the catalog
            return status_view(None, "refused")
        if services is None:
            return status_view(None, runtime.state, runtime.error)
        return status_view(await services.reads.run(services.index_status))
    except Exception:  # the status bar must never hide the real error
        return status_view(None, "failed")


def page_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, headers = 500, {**VARY, **PAGE_HEADERS}
    if isinstance(exc, ImgdescError):
        status, message = exc.status_code, exc.message
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, http_error_message(request, exc)
        headers.update(exc.headers or {})
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "internal error; see the server log"
    headers.update(retry_headers(exc))
    runtime: Runtime = request.app.state["runtime"]
    loading = runtime.services is None and runtime.state == "loading" and status not in REFUSED
    name = "partials/error.html" if getattr(request, "htmx", False) else "pages/error.html"
    engine = request.app.template_engine
    assert engine is not None  # web_config sets it

    async def body() -> AsyncIterator[str]:
        context = {"status_code": status, "message": message, "loading": loading, "nav": ""}
        context["status"] = await status_bar(runtime, status)
        yield engine.get_template(name).render(**context)

    return Stream(body(), status_code=status, headers=headers, media_type=MediaType.HTML)
