"""REST for accounts (admin only): list, add, remove, a new token, a new password. The
same operations as `imgdesc users` (app/cli/users.py), on the same file
(app/auth/accounts.py). A token is answered once, when it is made; only its hash is kept.

SQLite writes and scrypt (a password) run in a worker thread, never on the event loop;
none of this needs the models, so it answers while they load.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath

from app.api.edits import allowed_methods
from app.auth.access import access_of
from app.auth.accounts import MAX_PASSWORD, MIN_PASSWORD, NAME, AccountStore, Role
from app.errors import ErrorBody, errors

CLOSED = Body(schema_extra={"additionalProperties": False})  # an unknown field is a 400
AccountName = Annotated[
    str,
    msgspec.Meta(
        pattern=f"^{NAME.pattern}$",
        max_length=64,
        description="1 to 64 letters, digits and . _ @ -, starting with a letter or digit; "
        "unique whatever the case",
    ),
]
RoleName = Literal["viewer", "editor", "admin"]
EXISTS = {
    409: ResponseSpec(ErrorBody, description="An account with this name exists", generate_examples=False)
}


class AccountView(msgspec.Struct):
    name: str
    role: RoleName
    has_token: bool
    has_password: bool  # can log in on the pages
    created_at: str


class NewAccount(msgspec.Struct, forbid_unknown_fields=True):
    name: AccountName
    role: RoleName = "viewer"


class IssuedToken(msgspec.Struct):
    """The account's API token, shown this once: only its hash is kept."""

    name: str
    role: RoleName
    token: str


class NewPassword(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]


def _accounts(request: Request[Any, Any, Any]) -> AccountStore:
    return access_of(request).accounts


class UsersController(Controller):
    path = "/api/users"
    tags = ["users"]  # noqa: RUF012 - Litestar's own attribute type
    before_request = staticmethod(allowed_methods)  # OPTIONS /api/users: GET and POST (litestar#4169)

    @get("/", role=Role.admin, responses=errors(403, 503))
    async def list_accounts(self, request: Request[Any, Any, Any]) -> list[AccountView]:
        """Every account, without its secrets."""
        found = await asyncio.to_thread(_accounts(request).list)
        return [AccountView(a.name, a.role.value, a.has_token, a.has_password, a.created_at) for a in found]  # type: ignore[arg-type]

    @post("/", role=Role.admin, status_code=201, responses={**errors(400, 403, 503), **EXISTS})
    async def add(self, request: Request[Any, Any, Any], data: Annotated[NewAccount, CLOSED]) -> IssuedToken:
        """A new account, answered with its API token."""
        token = await asyncio.to_thread(_accounts(request).add, data.name, data.role)
        return IssuedToken(data.name, data.role, token)

    @delete("/{name:str}", role=Role.admin, responses=errors(403, 404, 503))
    async def remove(self, request: Request[Any, Any, Any], name: FromPath[str]) -> None:
        """Removes the account: its token stops working and its page sessions end."""
        await asyncio.to_thread(_accounts(request).remove, name)

    @post("/{name:str}/token", role=Role.admin, status_code=200, responses=errors(403, 404, 503))
    async def new_token(self, request: Request[Any, Any, Any], name: FromPath[str]) -> IssuedToken:
        """A new API token for the account; the old one stops working at once."""
        accounts = _accounts(request)
        token = await asyncio.to_thread(accounts.new_token, name)
        account = await asyncio.to_thread(accounts.get, name)
        role = account.role.value if account is not None else "viewer"
        return IssuedToken(account.name if account else name, role, token)  # type: ignore[arg-type]

    @put("/{name:str}/password", role=Role.admin, status_code=204, responses=errors(400, 403, 404, 503))
    async def set_password(
        self, request: Request[Any, Any, Any], name: FromPath[str], data: Annotated[NewPassword, CLOSED]
    ) -> None:
        """Sets the password for the log-in page; the account's page sessions end."""
        await asyncio.to_thread(_accounts(request).set_password, name, data.password)
