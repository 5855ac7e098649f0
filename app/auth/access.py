"""What each route needs and who is asking.

Every route handler declares the role it needs in its `opt` (`@get(..., role=Role.viewer)`,
or `opt=...` on a router whose handlers are not ours: the static files, the API docs);
`role_guard` reads it. A route that declares none needs `admin` (it fails closed), and
tests/test_app_auth.py walks the whole route table and fails on it. The admin routes
(/api/users) are refused while there are no accounts: the first account is made with
the CLI, by whoever holds the data folder, never by whoever reaches the port first.

Who is asking: `Authorization: Bearer TOKEN` (REST clients, the CLI), else the page
session's account (the log-in page, app/web/login.py). A wrong token is refused even
beside a good session. Auth is on as soon as one account exists. With none, everyone
gets in, as before accounts: `imgdesc serve` starts that way only on a loopback address
or with --no-auth. Once on, a server on another address stays shut when the last account
is removed (no one gets in until one is added), rather than fall open.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from app.auth.accounts import Account, AccountStore, Role
from app.auth.limits import AttemptLimiter
from app.config import Settings
from app.errors import http_error

ROLE_KEY = "role"
ACCOUNT_KEY = "imgdesc.account"  # the request's account, once found, in the scope's state
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOGIN_PATH = "/login"
# what a page session holds (app/web/login.py writes it)
SESSION_ACCOUNT, SESSION_EPOCH, SESSION_SINCE = "account", "sessions", "since"


def is_loopback(host: str) -> bool:
    return host.strip("[]").lower() in LOOPBACK_HOSTS or host.startswith("127.")


class Access:
    """The server's view of the accounts, on `app.state["access"]`."""

    def __init__(self, settings: Settings) -> None:
        self.accounts = AccountStore(settings.data_dir)
        self.session_seconds = settings.session_hours * 3600
        # with no accounts, a server on the network is open only when asked (--no-auth)
        self.open_without_accounts = is_loopback(settings.host) or settings.no_auth
        self._had_accounts = False
        self.logins = AttemptLimiter()  # the log-in page's rate limit (app/web/login.py)

    def required(self) -> bool:
        """Whether requests must say who they are. Read at every request, so an account
        added by the CLI beside the running server turns auth on at once."""
        if self.accounts.any():
            self._had_accounts = True
            return True
        return self._had_accounts and not self.open_without_accounts


def access_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Access:
    access: Access = connection.app.state["access"]
    return access


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization` header ('' for another scheme or none given)."""
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def identify(connection: ASGIConnection[Any, Any, Any, Any]) -> Account | None:
    """The account the request comes from, or None: no token or session, a wrong token,
    or a session that has ended (expired, its account removed, its password changed)."""
    state = connection.scope.setdefault("state", {})
    if ACCOUNT_KEY in state:
        found: Account | None = state[ACCOUNT_KEY]
        return found
    access = access_of(connection)
    token = bearer(connection)
    if token is not None:
        account = access.accounts.by_token(token) if token else None
    else:
        account = _session_account(connection, access)
    state[ACCOUNT_KEY] = account
    return account


def _session_account(connection: ASGIConnection[Any, Any, Any, Any], access: Access) -> Account | None:
    session = connection.scope.get("session")
    if not isinstance(session, dict) or not isinstance(session.get(SESSION_ACCOUNT), str):
        return None
    since = session.get(SESSION_SINCE)
    if not isinstance(since, int | float) or time.time() - since > access.session_seconds:
        return None
    account = access.accounts.get(session[SESSION_ACCOUNT])
    if account is None or account.sessions != session.get(SESSION_EPOCH):
        return None
    return account


def account_name(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """Who made a change (an edit's `edited_by`): None while auth is off."""
    account = identify(connection)
    return account.name if account is not None else None


class LoginRequired(NotAuthorizedException):
    """No token or session, or a wrong one: 401 for REST, the log-in page for pages."""

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="imgdesc"'})


def is_auto_options(handler: BaseRouteHandler) -> bool:
    """Litestar's own OPTIONS handler of a path (it answers `Allow`, nothing else): it
    declares no role, and needs none."""
    fn = getattr(handler, "fn", None)
    return (
        getattr(fn, "__module__", "") == "litestar.routes.http"
        and getattr(fn, "__name__", "") == "options_handler"
    )


def role_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    declared = handler.opt.get(ROLE_KEY)
    if declared is None and is_auto_options(handler):
        return
    needed = Role(declared) if declared in {r.value for r in Role} else Role.admin
    if needed is Role.public:
        return
    access = access_of(connection)
    if not access.required():
        if needed is Role.admin:  # the accounts themselves: the first is made on the server's machine
            raise PermissionDeniedException(
                "this server has no accounts: make the first with `imgdesc users add NAME --role admin` "
                "on the machine that holds the data folder"
            )
        return  # one person, one machine: as before accounts
    account = identify(connection)
    if account is None:
        raise LoginRequired(_why_not(connection, access))
    if not account.role.allows(needed):
        raise PermissionDeniedException(f"refused: {account.name} is {account.role}; this needs {needed}")


def _why_not(connection: ASGIConnection[Any, Any, Any, Any], access: Access) -> str:
    if not access.accounts.any():
        return "this server has no accounts yet: add one with `imgdesc users add NAME --role admin`"
    if bearer(connection):
        return "the token is not valid (a new token replaces the old one: `imgdesc users token NAME`)"
    return (
        "sign in: send `Authorization: Bearer TOKEN` (the CLI: --token or IMGDESC_TOKEN), "
        f"or log in on the pages at {LOGIN_PATH}"
    )


def login_required(request: Request[Any, Any, Any], exc: LoginRequired) -> Response[Any]:
    """REST answers 401 with the JSON error body; a page goes to the log-in page and back
    (htmx: HX-Redirect, so the whole page goes, not a fragment of it)."""
    if request.url.path.startswith("/api/"):
        return http_error(request, exc)
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = LOGIN_PATH if back == "/" else f"{LOGIN_PATH}?{_next_param(back)}"
    if request.headers.get("hx-request"):
        return Response(None, status_code=401, headers={"HX-Redirect": target, **(exc.headers or {})})
    return Redirect(path=target, status_code=303)


def _next_param(path: str) -> str:
    return urlencode({"next": path})


def signed_in_or_open(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether a public route may say more than it says to anyone (/api/health): auth is
    off, or the request comes from an account."""
    return not access_of(connection).required() or identify(connection) is not None
