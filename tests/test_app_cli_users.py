"""`imgdesc users` as a user runs it: in a subprocess on a data folder (the token alone on
the last line of stdout, one error line and a non-zero exit for bad input), beside a
running server (which sees the account at once), and through a running server with an
admin's token (--server); `imgdesc search` and `imgdesc export` send --token or
IMGDESC_TOKEN to a server that has accounts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.auth.accounts import TOKEN_PREFIX, AccountStore
from app.config import load_settings
from app.server import create_app
from tests.fake_app import fake_build, fake_site
from tests.fakes import fake_analyzers, write_images
from tests.waiting import wait_for
from tools.first_start import free_port

IMGDESC = str(Path(sys.executable).parent / "imgdesc")
PASSWORD = "a long enough password"
# holds the embedded store, so the CLI's search and export go to the running server
HOLD_STORE = (
    "import sys; from pathlib import Path; from catalog.store.edge import EdgeStore; "
    "store = EdgeStore.open(Path(sys.argv[1]) / 'qdrant', 16); print('held', flush=True); sys.stdin.read()"
)


def users(
    data: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IMGDESC, "users", *args, "--data-dir", str(data)],
        capture_output=True, text=True, timeout=120, input=stdin, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_add_prints_the_token_alone_on_the_last_line_and_keeps_only_its_hash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run = users(data, "add", "ann", "--role", "editor")
    assert run.returncode == 0, run.stderr
    token = run.stdout.splitlines()[-1]
    assert run.stdout == token + "\n" and token.startswith(TOKEN_PREFIX) and len(token) > 40
    assert "ann (editor)" in run.stderr
    file = data / "accounts.sqlite"
    assert file.stat().st_mode & 0o077 == 0  # the owner's alone
    assert token.encode() not in file.read_bytes()
    account = AccountStore(data).by_token(token)
    assert account is not None and account.name == "ann" and account.role == "editor"


def test_list_token_password_and_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = users(data, "add", "ann").stdout.strip()
    listed = users(data, "list", "--json")
    assert listed.returncode == 0
    assert '"name":"ann","role":"viewer","has_token":true,"has_password":false' in listed.stdout
    assert first not in listed.stdout
    second = users(data, "token", "ann")
    assert second.returncode == 0 and second.stdout.strip().startswith(TOKEN_PREFIX)
    store = AccountStore(data)
    assert store.by_token(first) is None  # the new token revoked the old
    assert store.by_token(second.stdout.strip()) is not None
    set_password = users(data, "password", "ann", "--password-stdin", stdin=PASSWORD + "\n")
    assert set_password.returncode == 0, set_password.stderr
    assert store.check_password("ann", PASSWORD) is not None
    assert store.check_password("ann", PASSWORD + "x") is None
    table = users(data, "list")
    assert "ann" in table.stdout and "viewer" in table.stdout
    removed = users(data, "remove", "ann")
    assert removed.returncode == 0 and "removed ann" in removed.stderr
    assert store.get("ann") is None


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("add", "two words"), "account name 'two words'"),
        (("add", "bob", "--role", "root"), "role 'root': use viewer, editor or admin"),
        (("add", "ann"), "an account named 'ann' exists already"),
        (("add", "ANN"), "an account named 'ANN' exists already"),
        (("remove", "nobody"), "no account named 'nobody'"),
        (("token", "nobody"), "no account named 'nobody'"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    data = tmp_path / "data"
    assert users(data, "add", "ann").returncode == 0
    run = users(data, *args)
    assert run.returncode != 0 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [f"error: {run.stderr.strip()[7:]}"] and said in run.stderr


def test_a_short_password_or_none_on_stdin_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    users(data, "add", "ann")
    short = users(data, "password", "ann", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "8 to 1024 characters" in short.stderr
    empty = users(data, "password", "ann", "--password-stdin", stdin="")
    assert empty.returncode != 0 and "nothing on stdin" in empty.stderr


def test_an_account_added_beside_a_running_server_turns_its_auth_on(tmp_path: Path) -> None:
    with fake_analyzers(), fake_site(tmp_path, None) as site:
        assert site.get("/api/search").status_code == 200
        token = users(tmp_path / "data", "add", "ann").stdout.strip()
        assert site.get("/api/search").status_code == 401
        assert site.get("/api/search", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.fixture()
def running(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A server on a real port over a data folder with an admin account, its store held by
    another process; the held data folder, the server's URL and the admin's token."""
    held, data, images = tmp_path / "held", tmp_path / "data", tmp_path / "images"
    write_images(images, 2)
    token = AccountStore(data).add("root", "admin")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_STORE, str(held)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    port = free_port()
    settings = load_settings({"watch": str(images), "data_dir": str(data), "port": port}, environ={})
    with fake_analyzers():
        app = create_app(settings, fake_build(images))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        try:
            wait_for(lambda: server.started)
            wait_for(
                lambda: httpx.get(f"{url}/api/index/status", headers=auth).status_code == 200, timeout=30
            )
            wait_for(lambda: httpx.get(f"{url}/api/index/status", headers=auth).json()["indexed"] == 2)
            yield held, url, token
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            holder.communicate("", timeout=30)


def test_users_through_a_running_server_with_an_admin_token(
    running: tuple[Path, str, str], tmp_path: Path
) -> None:
    _, url, token = running
    elsewhere = tmp_path / "not-the-server"  # --server never touches the local data folder
    added = users(elsewhere, "add", "bob", "--role", "editor", "--server", url, env={"IMGDESC_TOKEN": token})
    assert added.returncode == 0, added.stderr
    bob = added.stdout.splitlines()[-1]
    assert httpx.get(f"{url}/api/search", headers={"Authorization": f"Bearer {bob}"}).status_code == 200
    listed = users(elsewhere, "list", "--json", "--server", url, "--token", token)
    assert '"name":"bob","role":"editor"' in listed.stdout
    newer = users(elsewhere, "token", "bob", "--server", url, "--token", token).stdout.strip()
    assert httpx.get(f"{url}/api/search", headers={"Authorization": f"Bearer {bob}"}).status_code == 401
    assert httpx.get(f"{url}/api/search", headers={"Authorization": f"Bearer {newer}"}).status_code == 200
    pw = users(
        elsewhere, "password", "bob", "--password-stdin", "--server", url, "--token", token, stdin=PASSWORD
    )
    assert pw.returncode == 0, pw.stderr
    as_bob = users(elsewhere, "remove", "root", "--server", url, "--token", newer)
    assert as_bob.returncode != 0 and "answered 403" in as_bob.stderr and "this needs admin" in as_bob.stderr
    no_token = users(elsewhere, "list", "--server", url, env={"IMGDESC_TOKEN": ""})
    assert no_token.returncode != 0 and "--server needs an admin's token" in no_token.stderr
    assert users(elsewhere, "remove", "bob", "--server", url, "--token", token).returncode == 0
    assert not elsewhere.exists()


def test_search_and_export_send_the_token_to_a_server_with_accounts(
    running: tuple[Path, str, str], tmp_path: Path
) -> None:
    held, url, token = running
    port = url.rsplit(":", 1)[1]
    env = {"IMGDESC_PORT": port, "IMGDESC_HOST": "127.0.0.1", "IMGDESC_TOKEN": ""}
    search = [IMGDESC, "search", "", "--json", "--data-dir", str(held)]
    refused = subprocess.run(search, capture_output=True, text=True, timeout=120, env={**os.environ, **env})
    assert refused.returncode != 0 and "answered 401" in refused.stderr and "IMGDESC_TOKEN" in refused.stderr
    found = subprocess.run([*search, "--token", token], capture_output=True, text=True, timeout=120,
                           env={**os.environ, **env})  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert found.stdout.count('"id"') == 2
    out = tmp_path / "rows.csv"
    export = [IMGDESC, "export", "-f", "csv", "-o", str(out), "--data-dir", str(held)]
    exported = subprocess.run(export, capture_output=True, text=True, timeout=120,
                              env={**os.environ, **env, "IMGDESC_TOKEN": token})  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert out.read_text(encoding="utf-8").count("\n") == 3
