"""The OpenAPI document at /api/docs, with Redoc served from the app's own static files."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin


class OfflineRedoc(RedocRenderPlugin):
    """/api/docs: Redoc from the app's own static files (app/web/static/vendor), without
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
