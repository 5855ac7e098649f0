"""`imgdesc users add | list | remove | token | password`: the accounts of a catalog.

By default the CLI writes the data folder's accounts.sqlite itself (app/auth/accounts.py):
SQLite allows it beside a running server, which sees each change at its next request, so
there is no lock to wait for as there is for the store, and the first account, which no
one can sign in to add, is made the same way. With `--server URL` it asks a running
server instead, over REST (/api/users), with an admin's token (--token or IMGDESC_TOKEN):
for a server on another machine.

A token is printed once, alone on the last line of stdout (`TOKEN=$(imgdesc users add
ann)`); everything else goes to stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import typer
from rich.console import Console

from app.cli.common import err, from_flags
from app.config import Settings
from describe.errors import ImgdescError

if TYPE_CHECKING:
    from app.auth.accounts import AccountStore

users = typer.Typer(
    help="Accounts of this catalog: once one exists, the server asks who is calling.", no_args_is_help=True
)

DataDir = Annotated[Path | None, typer.Option(help="The data folder whose accounts these are.")]
Server = Annotated[
    str | None,
    typer.Option(help="Ask the running server at this URL (http://host:port) instead, with an admin token."),
]
Token = Annotated[
    str | None,
    typer.Option(envvar="IMGDESC_TOKEN", show_envvar=True, help="An admin's API token, for --server."),
]


class Remote:
    """The REST API's /api/users, for --server."""

    def __init__(self, url: str, token: str | None) -> None:
        if not token:
            raise ImgdescError("--server needs an admin's token: --token TOKEN or IMGDESC_TOKEN")
        self.url = url.rstrip("/") + "/api/users"
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str = "", body: Any = None) -> Any:
        import httpx

        try:
            response = httpx.request(method, self.url + path, json=body, headers=self.headers, timeout=30)
        except httpx.HTTPError as exc:
            raise ImgdescError(f"cannot reach {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                said = msgspec.json.decode(response.content)["error"]
            except (msgspec.DecodeError, KeyError, TypeError):
                said = response.text[:200]
            raise ImgdescError(f"the server answered {response.status_code}: {said}")
        return msgspec.json.decode(response.content) if response.content else None


def _settings(data_dir: Path | None, token: str | None) -> Settings:
    return from_flags(data_dir=data_dir and str(data_dir), token=token)


@contextmanager
def _store(settings: Settings) -> Iterator[AccountStore]:
    """The data folder's accounts, closed again when the block ends."""
    from app.auth.accounts import AccountStore

    store = AccountStore(settings.data_dir)
    try:
        yield store
    finally:
        store.close()


def _print_token(token: str) -> None:
    sys.stdout.write(token + "\n")


@users.command()
def add(
    name: Annotated[str, typer.Argument(help="1 to 64 letters, digits and . _ @ -.")],
    role: Annotated[str, typer.Option(help="viewer, editor or admin.")] = "viewer",
    data_dir: DataDir = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Add an account and print its API token (once: only its hash is kept)."""
    settings = _settings(data_dir, token)
    if server:
        made = Remote(server, settings.token).call("POST", "", {"name": name, "role": role})
        issued = str(made["token"])
    else:
        with _store(settings) as store:
            issued = store.add(name, role)
    where = server or f"{settings.data_dir}/accounts.sqlite"
    err.print(f"added {name} ({role}) to {where}; its API token, shown only now:", markup=False)
    _print_token(issued)


@users.command("list")
def list_accounts(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: DataDir = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """List the accounts (never their secrets)."""
    settings = _settings(data_dir, token)
    if server:
        rows = list(Remote(server, settings.token).call("GET"))
    else:
        with _store(settings) as store:
            rows = [
                {"name": a.name, "role": a.role.value, "has_token": a.has_token,
                 "has_password": a.has_password, "created_at": a.created_at}
                for a in store.list()
            ]  # fmt: skip
    if json_out:
        sys.stdout.write(msgspec.json.encode(rows).decode() + "\n")
        return
    if not rows:
        err.print("no accounts: auth is off (imgdesc users add NAME --role admin turns it on)", markup=False)
        return
    from rich.table import Table

    table = Table("name", "role", "token", "password", "created")
    for row in rows:
        mark = {True: "yes", False: "—"}
        table.add_row(
            row["name"], row["role"], mark[row["has_token"]], mark[row["has_password"]], row["created_at"]
        )
    Console(highlight=False).print(table)


@users.command()
def remove(
    name: Annotated[str, typer.Argument()],
    data_dir: DataDir = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Remove an account: its token stops working and its page sessions end."""
    settings = _settings(data_dir, token)
    if server:
        Remote(server, settings.token).call("DELETE", f"/{name}")
    else:
        with _store(settings) as store:
            store.remove(name)
            left = store.any()
        if not left:
            err.print(
                "that was the last account: auth is off on loopback; a server on another address "
                "lets no one in, and will not start again without one",
                markup=False,
            )
    err.print(f"removed {name}", markup=False)


@users.command("token")
def new_token(
    name: Annotated[str, typer.Argument()],
    data_dir: DataDir = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Print a new API token for the account; the old one stops working at once."""
    settings = _settings(data_dir, token)
    if server:
        issued = str(Remote(server, settings.token).call("POST", f"/{name}/token")["token"])
    else:
        with _store(settings) as store:
            issued = store.new_token(name)
    err.print(f"a new token for {name} (the old one no longer works), shown only now:", markup=False)
    _print_token(issued)


@users.command()
def password(
    name: Annotated[str, typer.Argument()],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
    data_dir: DataDir = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Set the account's password, for the log-in page (asked twice, not shown)."""
    settings = _settings(data_dir, token)
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ImgdescError("--password-stdin: nothing on stdin")
        secret = line.rstrip("\r\n")
    else:
        secret = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    if server:
        Remote(server, settings.token).call("PUT", f"/{name}/password", {"password": secret})
    else:
        with _store(settings) as store:
            store.set_password(name, secret)
    err.print(f"password set for {name}; its page sessions from before have ended", markup=False)
