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
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.api import ApiController
from app.config import Settings
from app.services import Services, build_services
from app.web import web_config
from app.work import BusyError
from describe.errors import ImgdescError

log = logging.getLogger("imgdesc")
LOADING_RETRY_AFTER = 5


class NotReadyError(ImgdescError):
    status_code = 503


class Runtime:
    """What the app holds across requests: services once they are loaded."""

    def __init__(self) -> None:
        self.services: Services | None = None
        self.state = "loading"
        self.error: str | None = None


def _error(
    status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response({"error": message, "detail": detail}, status_code=status, headers=headers)


def _imgdesc_error(_: Request[Any, Any, Any], exc: ImgdescError) -> Response[Any]:
    headers = None
    if isinstance(exc, BusyError):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, NotReadyError):
        headers = {"Retry-After": str(LOADING_RETRY_AFTER)}
    return _error(exc.status_code, exc.message, exc.detail, headers)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return _error(exc.status_code, str(exc.detail), exc.extra or None, exc.headers)


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
            if runtime.services is not None:
                await asyncio.to_thread(runtime.services.close)

    def provide_services() -> Services:
        if runtime.services is None:
            if runtime.state == "failed":
                raise NotReadyError(f"imgdesc failed to start: {runtime.error}")
            raise NotReadyError("models are loading; retry shortly")
        return runtime.services

    @get("/api/health", sync_to_thread=False, tags=["api"])
    def health() -> Response[dict[str, Any]]:
        if runtime.services is None:
            status = 503
            body: dict[str, Any] = {"status": runtime.state, "error": runtime.error}
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
        return Response(body, status_code=status)

    web = web_config(settings)  # htmx pages, templates and static files
    return Litestar(
        route_handlers=[health, ApiController, *web.pop("route_handlers")],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        lifespan=[lifespan],
        exception_handlers={
            ImgdescError: _imgdesc_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        # the describer enforces its own byte limit with a clear message; leave room for multipart framing
        request_max_body_size=settings.describe.max_bytes + 1024 * 1024,
        openapi_config=OpenAPIConfig(title="imgdesc", version="0.1.0", path="/api/docs"),
        state=State({"runtime": runtime}),
        **web,
    )
