"""The browser's side of auth, as Litestar middleware (server.create_app adds them, the
first outermost):

1. `ProxyHeadersMiddleware` (uvicorn's): `X-Forwarded-Proto` and `X-Forwarded-For` are
   believed only from the addresses in `trusted_proxies` (none by default), so a client
   cannot claim HTTPS or another address for the log-in rate limit.
2. `SecureCookies`: every cookie set over HTTPS (as the request came to the proxy) gets
   `Secure`; over plain HTTP on a LAN, a Secure cookie would never come back.
3. The page session: Litestar's server-side sessions in a FileStore under the data folder
   (`sessions/`), so a restart logs nobody out. `QuietSessions` writes a session only
   when it changed and never makes one for a request that has none: Litestar's own backend
   would write a file and set a cookie for every anonymous request and every thumbnail.
   Cookie: HttpOnly, SameSite=Lax.
4. `SessionCSRF`: Litestar's CSRF middleware (a signed token in a cookie, sent back in
   the `x-csrftoken` header by htmx, or the `_csrf_token` field of a plain form), applied
   to unsafe requests only while a cookie could authenticate them: auth is on and the
   request has no `Authorization` header. A Bearer token cannot be sent by another
   site's page, so REST clients need no CSRF token. The origin guard (app/guards.py)
   stays in front of both.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware, generate_csrf_token
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.file import FileStore
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, ScopeSession, Send
from litestar.utils.scope.state import ScopeState
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.auth.access import LOGIN_PATH, access_of, bearer
from app.config import Settings

SESSION_COOKIE = "imgdesc_session"
CSRF_COOKIE = "imgdesc_csrf"
SESSION_STORE = "sessions"
_LOADED = "imgdesc.session_loaded"  # the session as read from the store, in the scope's state
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class SecureCookies:
    """Adds `Secure` to the cookies of a response to an HTTPS request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                cookies = headers.getall("set-cookie", [])
                if cookies:
                    del headers["set-cookie"]
                    for cookie in cookies:
                        headers.add(
                            "set-cookie", cookie if "secure" in cookie.lower() else f"{cookie}; Secure"
                        )
            await send(message)

        await self.app(scope, receive, secure)


class QuietSessions(ServerSideSessionBackend):
    """Writes the store and sets the cookie only when the session changed; a log-in gets a
    new session id (an id planted before it is never the logged-in one)."""

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope.setdefault("state", {})[_LOADED] = dict(data)
        return data

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        loaded = connection.scope.get("state", {}).get(_LOADED) or {}
        cookie = connection.cookies.get(self.config.key)
        had = bool(cookie) and cookie != "null"
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        params = {
            "path": self.config.path,
            "httponly": self.config.httponly,
            "samesite": self.config.samesite,
        }
        if scope_session is Empty or not scope_session:
            if had:  # logged out, or a session that is no longer in the store
                await self.delete(str(cookie), store=store)
                headers.add("Set-Cookie", _cookie(self.config.key, "null", expires=0, **params))
            return
        if had and scope_session == loaded:
            return
        if had and not loaded:  # a log-in over an unknown id: never keep an id it did not make
            await self.delete(str(cookie), store=store)
        session_id = str(cookie) if had and loaded else self.generate_session_id()
        await self.set(session_id, self.serialize_data(scope_session, connection.scope), store=store)
        headers.add("Set-Cookie", _cookie(self.config.key, session_id, max_age=self.config.max_age, **params))


def _cookie(key: str, value: str, **params: Any) -> str:
    return Cookie(key=key, value=value, **params).to_header(header="")


class QuietSessionConfig(ServerSideSessionConfig):
    _backend_class = QuietSessions


class SessionCSRF(CSRFMiddleware):
    """Litestar's CSRF middleware, only where a cookie could authenticate (see above).
    Its signing secret is kept in the session store, so pages opened before a restart
    still post after it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope):
            await self.app(scope, receive, send)
            return
        if not self.config.secret:
            self.config.secret = await _csrf_secret(scope)
        if scope.get("method") in _SAFE:
            # a cookie signed with another secret (an old data folder) is replaced, not kept
            cookie = ASGIConnection[Any, Any, Any, Any](scope).cookies.get(self.config.cookie_name)
            if cookie and self._decode_csrf_token(cookie) is None:
                token = ScopeState.from_scope(scope).csrf_token = generate_csrf_token(self.config.secret)
                await self.app(
                    scope, receive, self.create_send_wrapper(send=send, csrf_cookie=None, token=token)
                )
                return
        try:
            await super().__call__(scope, receive, send)
        except PermissionDeniedException as exc:
            if exc.detail != "CSRF token verification failed":
                raise
            raise PermissionDeniedException(
                "refused: the form's CSRF token is missing or out of date; reload the page and try again"
            ) from None

    @staticmethod
    def _applies(scope: Scope) -> bool:
        connection = ASGIConnection[Any, Any, Any, Any](scope)
        if not access_of(connection).required() or bearer(connection) is not None:
            return False
        if scope.get("method") in _SAFE:
            # sets the cookie the next post needs: a page's, never REST's or a static file's
            return not scope["path"].startswith(("/api/", "/static/"))
        return SESSION_COOKIE in connection.cookies or scope["path"] == LOGIN_PATH


async def _csrf_secret(scope: Scope) -> str:
    store = scope["app"].stores.get(SESSION_STORE)
    if isinstance(store, FileStore):
        await store.path.mkdir(parents=True, exist_ok=True)
    found = await store.get("csrf-secret")
    if found:
        return found.decode()
    secret = secrets.token_hex(32)
    await store.set("csrf-secret", secret)
    return secret


def auth_middleware(settings: Settings) -> list[Any]:
    """The middleware above, outermost first."""
    sessions = QuietSessionConfig(
        key=SESSION_COOKIE,
        max_age=int(settings.session_hours * 3600),
        store=SESSION_STORE,
        httponly=True,
        samesite="lax",
    )
    csrf = CSRFConfig(secret="", cookie_name=CSRF_COOKIE, cookie_httponly=True, cookie_samesite="lax")
    return [
        # uvicorn's ASGI types are its own; the middleware is plain ASGI
        DefineMiddleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies)),  # type: ignore[arg-type]
        SecureCookies,
        sessions.middleware,
        DefineMiddleware(SessionCSRF, config=csrf),
    ]


def session_store(settings: Settings) -> FileStore:
    return FileStore(Path(settings.data_dir) / "sessions")


async def sweep_sessions(app: Any) -> None:
    """Expired sessions are dropped when read; the ones never read again, at each start."""
    store = app.stores.get(SESSION_STORE)
    if isinstance(store, FileStore) and await store.path.is_dir():
        await store.delete_expired()
