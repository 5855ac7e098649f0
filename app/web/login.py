"""The log-in page (name + password → a page session) and log-out.

The session holds the account's name, its `sessions` count (a new password ends the
sessions from before) and the time of the log-in (they last `session_hours`); the
cookie and the store are app/auth/web.py's. Attempts are limited per account name and
per client address (app/auth/limits.py): the 11th in a minute is answered 429.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from app.auth.access import SESSION_ACCOUNT, SESSION_EPOCH, SESSION_SINCE, access_of, identify
from app.auth.accounts import Role
from app.web.views import status_view

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def safe_next(target: str) -> str:
    """Where to go after the log-in: a path on this site only (never `//elsewhere`)."""
    try:
        parts = urlsplit(target)
    except ValueError:
        return "/"
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith(("//", "/\\")):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def login_page(next_path: str, error: str | None = None, status_code: int = 200, **headers: str) -> Template:
    # the status bar of a log-in page says nothing of the catalog
    context = {"status": status_view(None, "refused"), "nav": "login", "next": next_path, "error": error}
    return Template("pages/login.html", context=context, status_code=status_code, headers=headers or None)


class LoginController(Controller):
    @get("/login", name="login", role=Role.public)
    async def show(self, request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Response[Any]:
        if not access_of(request).required():
            return Redirect(path=safe_next(next), status_code=303)  # nothing to log in to
        return login_page(safe_next(next))

    @post("/login", name="login-post", role=Role.public, status_code=303)
    async def log_in(self, request: Request[Any, Any, Any], data: Form) -> Response[Any]:
        name, password = str(data.get("name", "")).strip(), str(data.get("password", ""))
        back = safe_next(str(data.get("next", "/")))
        address = request.client.host if request.client else "unknown"
        wait = access_of(request).logins.attempt(f"account:{name.lower()}", f"address:{address}")
        if wait:
            seconds = max(1, round(wait))
            message = f"Too many log-in attempts; try again in {seconds} s."
            return login_page(back, message, 429, **{"Retry-After": str(seconds)})
        accounts = access_of(request).accounts
        account = await asyncio.to_thread(accounts.check_password, name, password) if name else None
        if account is None:
            # 401, and no hint whether the name exists
            return login_page(
                back, "Wrong name or password.", 401, **{"WWW-Authenticate": 'Bearer realm="imgdesc"'}
            )
        request.set_session(
            {SESSION_ACCOUNT: account.name, SESSION_EPOCH: account.sessions, SESSION_SINCE: time.time()}
        )
        return Redirect(path=back, status_code=303)

    @post("/logout", name="logout", role=Role.public, status_code=303)
    async def log_out(self, request: Request[Any, Any, Any]) -> Response[Any]:
        request.clear_session()
        return Redirect(path="/login", status_code=303)


def signed_in(context: Any) -> str:
    """For the layout (templates/pages/base.html): the name of the account a page session
    signed in, '' otherwise (no session, a REST token, or an error page without a request)."""
    request = context.get("request")
    if request is None or "session" not in request.scope or not request.scope.get("session"):
        return ""
    account = identify(request)
    return account.name if account is not None else ""
