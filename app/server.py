"""The Litestar app: lifespan (models load once, in the background, with a
visible loading → ready state), dependency injection and error mapping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.api import ApiController, ErrorBody, errors
from app.config import Settings
from app.guards import host_guard, same_origin_guard
from app.runtime import Runtime
from app.services import Services, build_services
from app.web import http_error_message, web_config
from app.work import BusyError
from describe.errors import ImgdescError

log = logging.getLogger("imgdesc")
LOADING_RETRY_AFTER = 5
NOT_READY = ResponseSpec(
    dict[str, Any],
    description='`{"status": "loading", "error": null}` with `Retry-After` while models load; '
    '`{"status": "failed", "error": "why"}` when they could not be loaded',
    generate_examples=False,
)


class NotReadyError(ImgdescError):
    status_code = 503


def _error(
    status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(ErrorBody(message, detail), status_code=status, headers=headers)


def _imgdesc_error(_: Request[Any, Any, Any], exc: ImgdescError) -> Response[Any]:
    headers = None
    if isinstance(exc, BusyError):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, NotReadyError):
        headers = {"Retry-After": str(LOADING_RETRY_AFTER)}
    return _error(exc.status_code, exc.message, exc.detail, headers)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return _error(exc.status_code, http_error_message(request, exc), exc.extra or None, exc.headers)


class OfflineRedoc(RedocRenderPlugin):
    """/api/docs: Redoc from the app's own static files (app/static/vendor), without
    web fonts or a favicon from a CDN, so the page works offline. A Content-Security-
    Policy lets nothing load from elsewhere: Redoc 2 always shows a "by Redocly" logo
    from its CDN; refused, the image hides itself."""

    CSP = (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; object-src 'none'"
    )

    def __init__(self) -> None:
        super().__init__(
            js_url="/static/vendor/redoc.standalone.js",
            google_fonts=False,
            favicon="<link rel='icon' href='data:,'>",
            path="/redoc",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        meta = f'<meta http-equiv="Content-Security-Policy" content="{self.CSP}">'
        return super().render(request, openapi_schema).replace(b"<head>", b"<head>" + meta.encode(), 1)


def docs_config() -> OpenAPIConfig:
    return OpenAPIConfig(title="imgdesc", version="0.1.0", path="/api/docs", render_plugins=[OfflineRedoc()])


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; see the server log")


def create_app(settings: Settings, build: Callable[[Settings], Services] = build_services) -> Litestar:
    runtime = Runtime()

    async def load() -> None:
        try:
            runtime.services = await asyncio.to_thread(build, settings)
            runtime.state = "ready"
            log.info("imgdesc ready: captioner %s", runtime.services.describer.captioner)
        except Exception as exc:  # shown in /api/health; the process stays up to say why
            runtime.state, runtime.error = "failed", str(getattr(exc, "message", exc))
            log.error("loading failed: %s", runtime.error)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        task = asyncio.create_task(load())
        try:
            yield
        finally:
            task.cancel()
            services, runtime.services, runtime.state = runtime.services, None, "loading"
            if services is not None:  # closed services are never handed out (a restarted lifespan reloads)
                await asyncio.to_thread(services.close)

    def provide_services() -> Services:
        if runtime.services is None:
            if runtime.state == "failed":
                raise NotReadyError(f"imgdesc failed to start: {runtime.error}")
            raise NotReadyError("models are loading; retry shortly")
        return runtime.services

    @get("/api/health", sync_to_thread=False, tags=["api"], responses={**errors(), 503: NOT_READY})
    def health() -> Response[dict[str, Any]]:
        """`ok` with what is loaded; 503 with `loading` or `failed` (and why) before that."""
        headers: dict[str, str] = {}
        if runtime.services is None:
            status = 503
            body: dict[str, Any] = {"status": runtime.state, "error": runtime.error}
            if runtime.state == "loading":
                headers["Retry-After"] = str(LOADING_RETRY_AFTER)
        else:
            status = 200
            s = runtime.services
            body = {
                "status": "ok",
                "captioner": s.describer.captioner,
                "profile": s.describer.settings.profile,
                "profiles": s.describer.profiles.names(),
                "embedding_model": s.embedder.name,
                "store": "server" if s.settings.qdrant_url else "embedded",
                "watching": s.settings.watch,
            }
        return Response(body, status_code=status, headers=headers)

    web = web_config(settings)  # htmx pages, templates and static files
    return Litestar(
        route_handlers=[health, ApiController, *web.pop("route_handlers")],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        # every route, pages, REST, static files and docs alike (see app/guards.py)
        guards=[host_guard(settings), same_origin_guard],
        lifespan=[lifespan],
        exception_handlers={
            ImgdescError: _imgdesc_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        # the describer enforces its own byte limit with a clear message; leave room for multipart framing
        request_max_body_size=settings.describe.max_bytes + 1024 * 1024,
        openapi_config=docs_config(),
        state=State({"runtime": runtime, "max_bytes": settings.describe.max_bytes}),
        **web,
    )
