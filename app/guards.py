"""Who may talk to the server: the allowed-hosts rule and the same-origin rule,
as Litestar guards on every route (pages, REST, static files, the API docs).

Why these and not Litestar's CSRFConfig or AllowedHostsConfig: the app binds
127.0.0.1 and has no login or cookies to steal, so the risks are

* DNS rebinding: a hostile page whose name is made to resolve to 127.0.0.1 is
  "same-origin" with the server, so it could read the catalog and the original
  files, and token schemes do not help. The browser still sends the hostile
  name in Host, so every request must name a host this server answers to:
  loopback names, the address it is bound to, and `allowed_hosts`. Refused
  with 421 Misdirected Request.
* Cross-site posts: a hostile page posting a form to localhost (it could put
  files into the watched folder through "add to catalog"). A browser always
  sends Origin on a cross-site POST, so an unsafe request whose Origin (or
  Referer) is another site is refused with 403. Clients that send neither
  (curl, the CLI) are not browsers and carry no cross-site risk.

Both are stateless and need no token in forms or cookie. Litestar's
AllowedHostsConfig answers a fixed 400 with its own body and compares the Host
header with its port; these guards raise HTTP errors instead, so the REST API
answers JSON and the pages an HTML error page through the usual handlers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from app.config import Settings

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class MisdirectedRequestException(HTTPException):
    status_code = 421


def host_name(host: str) -> str | None:
    """The name part of a Host header ('[::1]:8000' → '::1'), lowercased; None when malformed."""
    try:
        return urlsplit(f"//{host}").hostname or None
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The host names this server answers to; None when it answers to any ("*")."""
    entries = [n.strip().lower() for n in settings.allowed_hosts if n.strip()]
    if "*" in entries:
        return None
    # a name may be given with a port or brackets ("nas.lan:8000", "[fe80::1]"): keep the name
    names = {host_name(n) or n.strip("[]") for n in [*entries, settings.host.lower()]}
    return LOOPBACK | names


def host_guard(settings: Settings) -> Guard:
    """Every request must name an allowed host (the DNS-rebinding guard)."""
    allowed = allowed_hosts(settings)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if allowed is None:
            return
        host = connection.headers.get("host", "")
        if host_name(host) not in allowed:
            raise MisdirectedRequestException(
                f"refused: this server answers to {', '.join(sorted(allowed))}, not {host!r}; "
                "to serve it under another name, add the name to allowed_hosts"
            )

    return guard


def same_origin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Unsafe requests from a browser must come from a page this server served."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    source = connection.headers.get("origin") or connection.headers.get("referer")
    if source is not None and _netloc(source) != connection.headers.get("host", "").lower():
        raise PermissionDeniedException("refused: the request was sent from another site's page")


def _netloc(url: str) -> str | None:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return None
