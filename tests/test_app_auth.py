"""Accounts and roles through the server (issue 26): with a viewer, an editor and an admin
made in the data folder before the server starts, REST answers 401 without a token or
with a wrong one and 403 when the role is short; pages go to the log-in page, whose
session cookie, CSRF token and rate limit are real; health stays open and says nothing;
every route in the table declares a role; edits record who made them.

Over the model-free fakes and a watched folder (tests/fake_app.py); accounts in a real
accounts.sqlite (scrypt and all)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from app.auth.access import is_auto_options
from app.auth.accounts import AccountStore, Role
from app.auth.limits import AttemptLimiter
from app.config import load_settings
from app.server import create_app
from tests.fake_app import BASE_URL, fake_build, fake_site
from tests.fakes import fake_analyzers, image_bytes, write_images
from tests.waiting import wait_for
from tools.first_start import free_port, stop

IMGDESC = str(Path(sys.executable).parent / "imgdesc")
IMAGES = 2
PASSWORD = "correct horse battery"
SAME_ORIGIN = {"Origin": BASE_URL}
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([0-9a-f]+)"')


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A running site with three accounts; their tokens by role name."""
    base = tmp_path_factory.mktemp("auth")
    images = base / "images"
    write_images(images, IMAGES)
    accounts = AccountStore(base / "data")
    tokens = {role: accounts.add(f"{role}-1", role) for role in ("viewer", "editor", "admin")}
    accounts.set_password("viewer-1", PASSWORD)
    accounts.close()
    with fake_analyzers(), fake_site(base, images) as site:
        wait_for(
            lambda: (
                site.get("/api/index/status", headers=bearer(tokens["viewer"])).json()["indexed"] == IMAGES
            )
        )
        yield site, tokens


@pytest.fixture()
def site(catalog: tuple[TestClient, dict[str, str]]) -> Iterator[TestClient]:
    """The site with no cookies and a fresh log-in rate limit."""
    client, _ = catalog
    client.cookies.clear()
    client.app.state["access"].logins = AttemptLimiter()
    yield client
    client.cookies.clear()


@pytest.fixture()
def tokens(catalog: tuple[TestClient, dict[str, str]]) -> dict[str, str]:
    return catalog[1]


def an_image(site: TestClient, token: str) -> str:
    return str(site.get("/api/search", headers=bearer(token)).json()["hits"][0]["id"])


# --- REST ----------------------------------------------------------------------------


def test_without_a_token_rest_answers_401_with_a_json_error_and_pages_go_to_the_log_in(
    site: TestClient, tokens: dict[str, str]
) -> None:
    image = an_image(site, tokens["viewer"])
    for path in ("/api/search", f"/api/images/{image}/file", "/api/export", "/api/index/status"):
        response = site.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in response.json()["error"]
    page = site.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    image_page = site.get(f"/images/{image}?x=1", follow_redirects=False)
    assert image_page.headers["location"] == f"/login?next=%2Fimages%2F{image}%3Fx%3D1"
    # htmx (the status bar polling after a session ended) is sent to the log-in page whole
    fragment = site.get("/fragments/status", headers={"HX-Request": "true"})
    assert (
        fragment.status_code == 401 and fragment.headers["hx-redirect"] == "/login?next=%2Ffragments%2Fstatus"
    )


def test_health_stays_open_and_says_nothing_about_the_catalog_without_a_token(
    site: TestClient, tokens: dict[str, str]
) -> None:
    anonymous = site.get("/api/health")
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
    signed = site.get("/api/health", headers=bearer(tokens["viewer"])).json()
    assert signed["status"] == "ok" and signed["watching"] and "captioner" in signed
    # the docs, the log-in page and static files need no account either
    for path in ("/api/docs", "/api/docs/openapi.json", "/login", "/static/style.css"):
        assert site.get(path).status_code == 200, path


def test_a_viewer_searches_and_exports_but_may_not_describe_or_edit(
    site: TestClient, tokens: dict[str, str]
) -> None:
    viewer = bearer(tokens["viewer"])
    image = an_image(site, tokens["viewer"])
    assert site.get("/api/search", params={"q": "image"}, headers=viewer).status_code == 200
    assert site.get(f"/api/images/{image}/file", headers=viewer).status_code == 200
    assert site.get(f"/api/images/{image}/thumbnail", headers=viewer).status_code == 200
    export = site.get("/api/export", params={"format": "csv"}, headers=viewer)
    assert export.status_code == 200 and export.text.count("\n") == IMAGES + 1
    described = site.post("/api/describe", files={"image": ("a.png", image_bytes(7))}, headers=viewer)
    assert described.status_code == 403
    assert described.json()["error"] == "refused: viewer-1 is viewer; this needs editor"
    edited = site.patch(f"/api/images/{image}", json={"add_tags": ["x"]}, headers=viewer)
    assert edited.status_code == 403
    assert site.get("/api/users", headers=viewer).status_code == 403


def test_an_editor_describes_and_edits_and_the_edit_records_who(
    site: TestClient, tokens: dict[str, str]
) -> None:
    editor = bearer(tokens["editor"])
    described = site.post("/api/describe", files={"image": ("a.png", image_bytes(7))}, headers=editor)
    assert described.status_code == 200 and described.json()["description"]
    image = an_image(site, tokens["editor"])
    edited = site.patch(f"/api/images/{image}", json={"add_tags": ["checked"]}, headers=editor)
    assert edited.status_code == 200
    assert edited.json()["edit"]["edited_by"] == "editor-1"
    bulk = site.post("/api/images/tags", json={"ids": [image], "add": ["second"]}, headers=editor)
    assert bulk.status_code == 200
    assert site.get(f"/api/images/{image}", headers=editor).json()["edit"]["edited_by"] == "editor-1"
    assert site.get("/api/users", headers=editor).status_code == 403


def test_a_wrong_token_or_another_scheme_is_401_even_beside_a_good_session(
    site: TestClient, tokens: dict[str, str]
) -> None:
    for header in (
        f"Bearer {tokens['viewer']}x",
        "Bearer imgdesc_nope",
        "Bearer",
        f"Basic {tokens['viewer']}",
    ):
        response = site.get("/api/search", headers={"Authorization": header})
        assert response.status_code == 401, header
    log_in(site, "viewer-1", PASSWORD)
    assert site.get("/api/search").status_code == 200  # the session alone
    assert site.get("/api/search", headers=bearer("imgdesc_wrong")).status_code == 401


def test_admins_manage_accounts_over_rest_and_a_new_token_revokes_the_old(
    site: TestClient, tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    made = site.post("/api/users", json={"name": "Temp.User", "role": "editor"}, headers=admin)
    assert made.status_code == 201 and made.json()["role"] == "editor"
    first = made.json()["token"]
    assert site.get("/api/search", headers=bearer(first)).status_code == 200
    again = site.post("/api/users", json={"name": "temp.user"}, headers=admin)  # names ignore case
    assert again.status_code == 409
    listed = {a["name"]: a for a in site.get("/api/users", headers=admin).json()}
    assert listed["Temp.User"] == {
        **listed["Temp.User"],
        "role": "editor",
        "has_token": True,
        "has_password": False,
    }
    assert "token" not in listed["Temp.User"]
    second = site.post("/api/users/Temp.User/token", headers=admin).json()["token"]
    assert site.get("/api/search", headers=bearer(first)).status_code == 401
    assert site.get("/api/search", headers=bearer(second)).status_code == 200
    assert (
        site.put("/api/users/Temp.User/password", json={"password": "short"}, headers=admin).status_code
        == 400
    )
    assert (
        site.put("/api/users/Temp.User/password", json={"password": PASSWORD}, headers=admin).status_code
        == 204
    )
    assert site.delete("/api/users/Temp.User", headers=admin).status_code == 204
    assert site.get("/api/search", headers=bearer(second)).status_code == 401
    assert site.delete("/api/users/Temp.User", headers=admin).status_code == 404


def test_every_route_declares_its_role() -> None:
    """The whole route table, pages, REST, static files and docs: a handler without a role
    (a new endpoint someone forgot) fails here, and the guard refuses it to all but admins."""
    app = create_app(load_settings({"watch": None, "data_dir": "unused"}, environ={}))
    missing, seen = [], 0
    for route in app.routes:
        for handler in route.route_handlers:  # type: ignore[union-attr]
            if is_auto_options(handler):
                continue
            seen += 1
            if handler.opt.get("role") not in set(Role):
                methods = ",".join(sorted(getattr(handler, "http_methods", ())))
                missing.append(f"{methods} {route.path} ({handler.handler_name})")
    assert seen > 30
    assert not missing, "routes without a role (add role=Role.… to the decorator):\n" + "\n".join(missing)


# --- pages: log-in, session, CSRF, rate limit ----------------------------------------


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def log_in(site: TestClient, name: str, password: str, next_path: str = "/") -> Any:
    token = csrf_of(site.get("/login").text)
    form = {"name": name, "password": password, "next": next_path, "_csrf_token": token}
    return site.post("/login", data=form, headers=SAME_ORIGIN, follow_redirects=False)


def test_the_log_in_page_sets_a_server_side_session_cookie(site: TestClient, tokens: dict[str, str]) -> None:
    page = site.get("/login?next=/failed")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "indexed" not in page.text  # the status bar says nothing of the catalog
    response = log_in(site, "viewer-1", PASSWORD, "/failed")
    assert response.status_code == 303 and response.headers["location"] == "/failed"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("imgdesc_session="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie  # plain HTTP
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert "viewer-1" not in session_id  # an opaque id; the account is in the store
    home = site.get("/")
    assert home.status_code == 200 and "viewer-1" in home.text and "Log out" in home.text
    # a page only reads the session: no new cookie, no new session
    assert "imgdesc_session" not in home.headers.get("set-cookie", "")
    # the viewer's session does not open an editor's page
    assert site.get("/describe").status_code == 403
    out = site.post(
        "/logout", data={"_csrf_token": csrf_of(home.text)}, headers=SAME_ORIGIN, follow_redirects=False
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert site.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_or_name_is_401_without_saying_which(site: TestClient) -> None:
    wrong_password = log_in(site, "viewer-1", "not the password")
    unknown_name = log_in(site, "nobody", PASSWORD)
    no_password_set = log_in(site, "editor-1", PASSWORD)
    for response in (wrong_password, unknown_name, no_password_set):
        assert response.status_code == 401 and "Wrong name or password." in response.text
    assert "imgdesc_session" not in str(site.cookies)


def test_the_next_page_after_a_log_in_is_always_on_this_site(site: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        site.cookies.clear()
        assert log_in(site, "viewer-1", PASSWORD, target).headers["location"] == "/"


def test_posts_from_a_session_need_the_csrf_token(site: TestClient, tokens: dict[str, str]) -> None:
    accounts: AccountStore = site.app.state["access"].accounts
    accounts.set_password("editor-1", PASSWORD)
    image = an_image(site, tokens["editor"])
    assert log_in(site, "editor-1", PASSWORD).status_code == 303
    page = site.get(f"/images/{image}")
    token = csrf_of(page.text)
    assert f"""hx-headers='{{"x-csrftoken": "{token}"}}'""" in page.text  # what htmx sends
    form = {"add": "from-the-page"}
    htmx = {**SAME_ORIGIN, "HX-Request": "true", "HX-Target": "editor"}
    refused = site.post(f"/images/{image}/edit", data=form, headers=htmx)
    assert refused.status_code == 403 and "CSRF" in refused.text
    # one character changed (a token that ends in "0" gets a "1": "0" would be the token itself)
    other = token[:-1] + ("1" if token.endswith("0") else "0")
    stale = site.post(f"/images/{image}/edit", data=form, headers={**htmx, "X-CSRFToken": other})
    assert stale.status_code == 403
    done = site.post(f"/images/{image}/edit", data=form, headers={**htmx, "X-CSRFToken": token})
    assert done.status_code == 200 and "from-the-page" in done.text
    # a plain form (no JavaScript) sends it as a field
    plain = site.post(
        f"/images/{image}/edit",
        data={"add": "plain-form", "_csrf_token": token},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert plain.status_code == 303
    record = site.get(f"/api/images/{image}", headers=bearer(tokens["viewer"])).json()
    assert {"from-the-page", "plain-form"} <= set(record["tags"]) and record["edit"][
        "edited_by"
    ] == "editor-1"
    # a REST client with a token sends none: another site's page cannot send the header
    rest = site.patch(
        f"/api/images/{image}", json={"add_tags": ["by-token"]}, headers=bearer(tokens["editor"])
    )
    assert rest.status_code == 200


def test_a_new_password_ends_the_sessions_from_before(site: TestClient) -> None:
    assert log_in(site, "viewer-1", PASSWORD).status_code == 303
    assert site.get("/").status_code == 200
    accounts: AccountStore = site.app.state["access"].accounts
    accounts.set_password("viewer-1", PASSWORD)  # the same words, a new password all the same
    assert site.get("/", follow_redirects=False).status_code == 303


def test_a_session_ends_after_session_hours(site: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert log_in(site, "viewer-1", PASSWORD).status_code == 303
    hours = site.app.state["access"].session_seconds / 3600
    later = __import__("time").time() + hours * 3600 + 1
    monkeypatch.setattr("app.auth.access.time.time", lambda: later)
    assert site.get("/", follow_redirects=False).status_code == 303


def test_the_eleventh_log_in_in_a_minute_is_429_per_account_and_per_address(site: TestClient) -> None:
    now = [1000.0]
    site.app.state["access"].logins = AttemptLimiter(clock=lambda: now[0])
    codes = [log_in(site, "viewer-1", f"wrong {i}").status_code for i in range(11)]
    assert codes == [401] * 10 + [429]
    refused = log_in(site, "viewer-1", PASSWORD)  # the right password is refused too, for now
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    now[0] += 61
    assert log_in(site, "viewer-1", PASSWORD).status_code == 303
    # per address: other names from the same address
    site.cookies.clear()
    site.app.state["access"].logins = AttemptLimiter(clock=lambda: now[0])
    codes = [log_in(site, f"someone-{i}", "x").status_code for i in range(11)]
    assert codes == [401] * 10 + [429]


def test_the_per_account_limit_holds_across_addresses_behind_a_trusted_proxy(tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path / "data")
    accounts.add("ann", "viewer")
    accounts.set_password("ann", PASSWORD)
    with fake_analyzers(), fake_site(tmp_path, None, trusted_proxies=["testclient"]) as site:
        codes = []
        for i in range(11):
            token = csrf_of(site.get("/login").text)
            form = {"name": "ann", "password": "wrong", "_csrf_token": token}
            spread = {**SAME_ORIGIN, "X-Forwarded-For": f"10.0.0.{i}"}
            codes.append(site.post("/login", data=form, headers=spread).status_code)
        assert codes == [401] * 10 + [429]


def test_cookies_are_secure_over_https_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path / "data")
    accounts.add("ann", "viewer")
    https = {"X-Forwarded-Proto": "https"}
    with fake_analyzers(), fake_site(tmp_path, None, trusted_proxies=["testclient"]) as site:
        site.cookies.clear()
        cookie = site.get("/login", headers=https).headers["set-cookie"]
        assert cookie.startswith("imgdesc_csrf=") and "Secure" in cookie and "HttpOnly" in cookie
    with fake_analyzers(), fake_site(tmp_path, None) as site:  # no proxy trusted: the header is ignored
        site.cookies.clear()
        assert "Secure" not in site.get("/login", headers=https).headers["set-cookie"]


# --- when auth is on -----------------------------------------------------------------


def test_the_first_account_added_beside_a_running_server_turns_auth_on(tmp_path: Path) -> None:
    with fake_analyzers(), fake_site(tmp_path, None) as site:
        assert site.get("/api/search").status_code == 200  # loopback, no accounts: open
        assert site.get("/login", follow_redirects=False).status_code == 303  # nothing to log in to
        assert not (tmp_path / "data" / "accounts.sqlite").exists()  # asking made no file
        token = AccountStore(tmp_path / "data").add("ann", "viewer")  # as `imgdesc users add` does
        assert site.get("/api/search").status_code == 401
        assert site.get("/api/search", headers=bearer(token)).status_code == 200


def test_a_server_on_the_network_stays_shut_when_its_last_account_is_removed(tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path / "data")
    token = accounts.add("ann", "admin")
    lan = {"host": "0.0.0.0", "allowed_hosts": ["*"]}
    with fake_analyzers(), fake_site(tmp_path, None, **lan) as site:
        assert site.get("/api/search", headers=bearer(token)).status_code == 200
        assert site.delete("/api/users/ann", headers=bearer(token)).status_code == 204
        refused = site.get("/api/search")
        assert refused.status_code == 401 and "imgdesc users add" in refused.json()["error"]
        assert site.get("/api/health").json() == {"status": "ok"}
    # on loopback the same goes back to one person, one machine
    token = accounts.add("ann", "admin")
    with fake_analyzers(), fake_site(tmp_path, None) as site:
        assert site.delete("/api/users/ann", headers=bearer(token)).status_code == 204
        assert site.get("/api/search").status_code == 200


def test_serve_on_a_network_address_with_no_accounts_refuses_to_start(tmp_path: Path) -> None:
    argv = [IMGDESC, "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "data"), "--no-watch"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "imgdesc users add" in lines[0] and "--no-auth" in lines[0]
    assert not (tmp_path / "data" / "accounts.sqlite").exists()


def test_without_accounts_on_loopback_nothing_changes(tmp_path: Path) -> None:
    """One person, one machine: no token, no log-in, no CSRF token, no cookie."""
    images = tmp_path / "images"
    write_images(images, 1)
    with fake_analyzers(), fake_site(tmp_path, images) as site:
        wait_for(lambda: site.get("/api/index/status").json()["indexed"] == 1)
        image = an_image(site, "none")
        home = site.get("/")
        assert home.status_code == 200 and "set-cookie" not in home.headers and "Log out" not in home.text
        edit = site.post(
            f"/images/{image}/edit", data={"add": "mine"}, headers=SAME_ORIGIN, follow_redirects=False
        )
        assert edit.status_code == 303
        assert site.get(f"/api/images/{image}").json()["edit"]["edited_by"] is None


def test_the_app_module_builds_with_a_settings_object(tmp_path: Path) -> None:
    """create_app makes nothing in the data folder by itself (the OpenAPI test builds one
    over a path that does not exist)."""
    create_app(
        load_settings({"watch": None, "data_dir": str(tmp_path / "none")}, environ={}), fake_build(None)
    )
    assert not (tmp_path / "none").exists()


def test_without_accounts_the_accounts_api_is_refused_so_the_first_is_made_on_the_machine(
    tmp_path: Path,
) -> None:
    with fake_analyzers(), fake_site(tmp_path, None) as site:
        refused = site.post("/api/users", json={"name": "mallory", "role": "admin"})
        assert refused.status_code == 403 and "imgdesc users add" in refused.json()["error"]
        assert site.get("/api/users").status_code == 403
        assert site.get("/api/search").status_code == 200  # the rest stays open on loopback
    assert not (tmp_path / "data" / "accounts.sqlite").exists()


def started(argv: list[str], cwd: Path) -> list[str]:
    """`imgdesc serve`'s stderr up to its "serving on" line; then it is stopped (before
    the models have loaded: nothing here needs them)."""
    process = subprocess.Popen(argv, cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if "imgdesc: serving on" in line:
                break
    finally:
        stop(process)  # type: ignore[arg-type]
    return lines


def test_no_auth_says_so_at_every_start_and_the_start_line_says_whether_auth_is_on(tmp_path: Path) -> None:
    serve = [IMGDESC, "serve", "--no-watch", "--data-dir", str(tmp_path / "data"), "--port", str(free_port())]
    open_lan = started([*serve, "--host", "0.0.0.0", "--no-auth"], tmp_path)
    assert open_lan[0].startswith("warning: --no-auth: serving on 0.0.0.0 open to anyone who can reach it")
    assert open_lan[-1].endswith("no accounts: auth off (models load in the background)")
    AccountStore(tmp_path / "data").add("ann", "admin")
    lan = started([*serve, "--host", "0.0.0.0"], tmp_path)
    assert len(lan) == 1 and "1 account: auth on" in lan[0]
    said = started([*serve, "--host", "0.0.0.0", "--no-auth"], tmp_path)
    assert said[0] == "warning: --no-auth has no effect: this data folder has accounts, so auth is on"
