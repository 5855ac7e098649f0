"""GET /api/health: answers before the services exist, so it reads the start-up
state (app/runtime.py) rather than asking for the services."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from app.auth.access import signed_in_or_open
from app.auth.accounts import Role
from app.errors import LOADING_RETRY_AFTER, errors
from app.runtime import Runtime

NOT_READY = ResponseSpec(
    dict[str, Any],
    description='`{"status": "loading", "error": null}` with `Retry-After` while models load; '
    '`{"status": "failed", "error": "why"}` when they could not be loaded (a damaged journal '
    "or store names its file and the remedy)",
    generate_examples=False,
)


# open to all: never 401
OPEN = {code: spec for code, spec in errors().items() if code != 401}


@get("/api/health", tags=["api"], responses={**OPEN, 503: NOT_READY}, role=Role.public)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """`ok` with what is loaded; `disk_full` (with `disk`: the data folder, its free and
    needed bytes) while indexing waits for space; `repairing` (with `repair`: what was
    found, where the damaged store went, images expected and written back so far) while a
    damaged store is rebuilt. Search answers in all three. 503 with `loading` or `failed`
    (and why) before the services exist. Once the server has accounts, a request without
    a valid token gets `status` alone (and a null `error`): nothing about the catalog."""
    runtime: Runtime = request.app.state["runtime"]
    response = await _health(request, runtime)
    if signed_in_or_open(request):
        return response
    body = {"status": response.content["status"]}
    if response.status_code == 503:
        body["error"] = None
    return Response(body, status_code=response.status_code, headers=response.headers)


async def _health(request: Request[Any, Any, Any], runtime: Runtime) -> Response[dict[str, Any]]:
    headers: dict[str, str] = {}
    s = runtime.services
    if s is None:
        body: dict[str, Any] = {"status": runtime.state, "error": runtime.error}
        if runtime.state == "loading":
            headers["Retry-After"] = str(LOADING_RETRY_AFTER)
        return Response(body, status_code=503, headers=headers)
    body = {
        "status": "ok",
        "captioner": s.describer.captioner,
        "profile": s.describer.settings.profile,
        "profiles": s.describer.profiles.names(),
        "embedding_model": s.embedder.name,
        "store": "server" if s.settings.qdrant_url else "embedded",
        "watching": s.settings.watch,
    }
    if s.watcher is not None:  # read from memory: health never waits on SQLite or the store
        disk_full, repair = s.watcher.condition()
        if disk_full is not None:
            body["status"], body["disk"] = "disk_full", msgspec.to_builtins(disk_full)
        if repair is not None:
            body["status"], body["repair"] = "repairing", msgspec.to_builtins(repair)
    return Response(body, status_code=200, headers=headers)
