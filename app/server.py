"""The Litestar app, wiring only: the lifespan (models load once, in the background,
with a visible loading → ready state), dependency injection, the guards and the
error handlers. Handlers live in app/api/ (REST) and app/web/ (pages)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from app.api.controllers import ApiController
from app.api.docs import SECURITY, docs_config
from app.api.export import ExportController
from app.api.health import health
from app.api.similar import FamiliesController
from app.api.users import UsersController
from app.auth.access import Access, LoginRequired, login_required, role_guard
from app.auth.web import SESSION_STORE, auth_middleware, session_store, sweep_sessions
from app.config import Settings
from app.errors import JSON_HANDLERS
from app.guards import host_guard, same_origin_guard
from app.runtime import Runtime
from app.services import Services, build_services
from app.web.config import web_config

log = logging.getLogger("imgdesc")


def create_app(settings: Settings, build: Callable[[Settings], Services] = build_services) -> Litestar:
    runtime = Runtime()
    access = Access(settings)  # accounts and roles (app/auth/)

    async def load() -> None:
        try:
            runtime.services = await asyncio.to_thread(build, settings)
            runtime.state = "ready"
            log.info("imgdesc ready: captioner %s", runtime.services.describer.captioner)
        except Exception as exc:  # shown in /api/health; the process stays up to say why
            runtime.state, runtime.error = "failed", str(getattr(exc, "message", exc))
            log.error("loading failed: %s", runtime.error)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        task = asyncio.create_task(load())
        await sweep_sessions(app)
        try:
            yield
        finally:
            task.cancel()
            access.accounts.close()  # reopened at the next request, if any
            services, runtime.services, runtime.state = runtime.services, None, "loading"
            if services is not None:  # closed services are never handed out (a restarted lifespan reloads)
                await asyncio.to_thread(services.close)

    web = web_config(settings)  # htmx pages, templates and static files
    return Litestar(
        route_handlers=[
            health,
            ApiController,
            ExportController,
            UsersController,
            FamiliesController,
            *web.pop("route_handlers"),
        ],
        dependencies={"services": Provide(runtime.ready, sync_to_thread=False)},
        # every route, pages, REST, static files and docs alike (see app/guards.py); then
        # the role each route declares (app/auth/access.py)
        guards=[host_guard(settings), same_origin_guard, role_guard],
        middleware=auth_middleware(settings),  # proxies, sessions, CSRF (app/auth/web.py)
        stores={SESSION_STORE: session_store(settings)},
        lifespan=[lifespan],
        exception_handlers={**JSON_HANDLERS, LoginRequired: login_required},
        # the describer enforces its own byte limit with a clear message; leave room for multipart framing
        request_max_body_size=settings.describe.max_bytes + 1024 * 1024,
        openapi_config=docs_config(),
        security=SECURITY,
        state=State({"runtime": runtime, "access": access, "max_bytes": settings.describe.max_bytes}),
        **web,
    )
