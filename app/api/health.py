"""GET /api/health: answers before the services exist, so it reads the start-up
state (app/runtime.py) rather than asking for the services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from app.errors import LOADING_RETRY_AFTER, errors
from app.runtime import Runtime

NOT_READY = ResponseSpec(
    dict[str, Any],
    description='`{"status": "loading", "error": null}` with `Retry-After` while models load; '
    '`{"status": "failed", "error": "why"}` when they could not be loaded',
    generate_examples=False,
)


@get("/api/health", sync_to_thread=False, tags=["api"], responses={**errors(), 503: NOT_READY})
def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """`ok` with what is loaded; 503 with `loading` or `failed` (and why) before that."""
    runtime: Runtime = request.app.state["runtime"]
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
    return Response(body, status_code=200, headers=headers)
