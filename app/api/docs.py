"""The OpenAPI document at /api/docs, with Redoc served from the app's own static files.

The document declares the Bearer token (`imgdesc users token NAME`) as optional: a server
with no accounts answers without one (auth is off), and once an account exists every
operation but /api/health needs one. The docs pages themselves are public. Redoc only
reads; /api/docs/swagger (Swagger UI, also served from the app's static files) has an
"Authorize" button to paste a token and try the operations."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme

from app.auth.accounts import Role

BEARER = "bearer"
# "a token, or none": {} is the OpenAPI spelling of "no security needed" (auth off)
SECURITY: list[SecurityRequirement] = [{BEARER: []}, {}]


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


class OfflineSwagger(SwaggerRenderPlugin):
    """/api/docs/swagger: Swagger UI 5 from the app's static files, started by a script
    of ours (no inline script: the CSP allows only this site's), talking to this server
    only (`connect-src 'self'`)."""

    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'"
    )

    def __init__(self) -> None:
        super().__init__(
            js_url="/static/vendor/swagger-ui-bundle.js",
            css_url="/static/vendor/swagger-ui.css",
            path="/swagger",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{self.CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>imgdesc API · try it</title><link rel="icon" href="data:,">'
            f'<link rel="stylesheet" href="{self.css_url}"></head><body><div id="swagger"></div>'
            f'<script src="{self.js_url}"></script><script src="/static/swagger-init.js"></script>'
            "</body></html>"
        ).encode()


def docs_config() -> OpenAPIConfig:
    scheme = SecurityScheme(
        type="http",
        scheme="bearer",
        description="An account's API token (`imgdesc users add` or `imgdesc users token` print it), "
        "sent as `Authorization: Bearer TOKEN`. Needed once the server has an account; "
        "401 without it or with a wrong one, 403 when the account's role is not enough "
        "(viewer: search, images, export; editor: also describe and edit; admin: also /api/users).",
    )
    return OpenAPIConfig(
        title="imgdesc",
        version="0.1.0",
        description="Once the server has accounts, send an account's API token as "
        "`Authorization: Bearer TOKEN`. To try the operations with a token: "
        "[/api/docs/swagger](/api/docs/swagger) (*Authorize*).",
        render_plugins=[OfflineRedoc(), OfflineSwagger()],
        components=Components(security_schemes={BEARER: scheme}),
        # a router of our own only to say that the docs need no account
        openapi_router=Router(
            "/api/docs", route_handlers=[], include_in_schema=False, opt={"role": Role.public}
        ),
    )
