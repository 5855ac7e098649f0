"""Accounts in a real browser (Debian's Chromium, nothing allowed off 127.0.0.1, no console
error): the pages send an anonymous visitor to the log-in page, a log-in comes back to the
page asked for, htmx posts carry the CSRF token (an edit made on the page is saved, as the
account), and log-out ends it; on /api/docs/swagger a pasted token makes "Try it out"
answer 200 where it answered 401.

The server is the app with the model-free fakes (tests/fake_app.py) on a real port, with
accounts made in its data folder before it starts."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.auth.accounts import AccountStore
from app.config import load_settings
from app.server import create_app
from tests.fake_app import fake_build
from tests.fakes import fake_analyzers, write_images
from tests.test_app_browser import ARGS, ARTIFACTS, CHROMIUM, Watch, open_context
from tests.waiting import wait_for
from tools.first_start import free_port

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
PASSWORD = "correct horse battery"


class Site:
    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url, self.tokens = url, tokens

    def api(self, path: str, role: str = "viewer") -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.get(self.url + path, headers=headers, timeout=30).json()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("auth-browser")
    images = base / "images"
    write_images(images, 2)
    accounts = AccountStore(base / "data")
    tokens = {role: accounts.add(f"{role}-1", role) for role in ("viewer", "editor")}
    accounts.set_password("editor-1", PASSWORD)
    port = free_port()
    settings = load_settings({"watch": str(images), "data_dir": str(base / "data"), "port": port}, environ={})
    with fake_analyzers():
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, fake_build(images)), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        site = Site(f"http://127.0.0.1:{port}", tokens)
        try:
            wait_for(lambda: server.started)
            wait_for(lambda: httpx.get(site.url + "/api/health").status_code == 200, timeout=30)
            wait_for(lambda: site.api("/api/index/status")["indexed"] == 2, timeout=30)
            yield site
        finally:
            server.should_exit = True
            thread.join(timeout=30)


@pytest.fixture()
def watch() -> Watch:
    return Watch()


@pytest.fixture()
def page(site: Site, watch: Watch) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = open_context(browser, watch)
        yield context.new_page()
        context.close()
        browser.close()
    assert watch.offline_violations == [], "the pages asked for something outside 127.0.0.1"
    assert watch.console_errors == [], "the browser reported errors"


def test_log_in_edit_with_htmx_and_log_out(site: Site, page: Page, watch: Watch) -> None:
    image = site.api("/api/search")["hits"][0]["id"]
    page.goto(f"{site.url}/images/{image}")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fimages%2F"))
    page.locator("#name").fill("editor-1")
    page.locator("#password").fill("not it")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".login .error")).to_have_text("Wrong name or password.")
    # the page came with 401, which Chromium reports as a failed load
    assert watch.console_errors == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    ]
    watch.console_errors.clear()
    page.locator("#name").fill("editor-1")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{site.url}/images/{image}")
    expect(page.locator(".logout")).to_contain_text("editor-1")
    page.evaluate("window.__samePage = true")
    page.locator("#add-tag").fill("checked by hand")
    page.locator("#add-tag").press("Enter")  # an htmx post: the CSRF token rides in its header
    expect(page.locator("#editor .chip.user")).to_contain_text("checked by hand")
    assert page.evaluate("window.__samePage === true")
    record = site.api(f"/api/images/{image}")
    assert "checked by hand" in record["tags"] and record["edit"]["edited_by"] == "editor-1"
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{site.url}/login")
    page.goto(site.url + "/")
    expect(page).to_have_url(f"{site.url}/login")


def test_swagger_tries_the_api_with_a_pasted_token(site: Site, page: Page, watch: Watch) -> None:
    page.goto(site.url + "/api/docs/swagger")
    search = page.locator("#operations-api-ApiSearchSearch")
    expect(search).to_be_visible(timeout=30_000)
    search.locator(".opblock-summary").click()
    search.get_by_role("button", name="Try it out").click()
    search.get_by_role("button", name="Execute").click()
    expect(search.locator(".live-responses-table tbody .response-col_status").first).to_contain_text("401")
    assert [e for e in watch.console_errors if "401" not in e] == []
    watch.console_errors.clear()
    page.locator(".scheme-container .btn.authorize").click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input").first.fill(site.tokens["viewer"])
    dialog.locator("button.authorize").click()  # "Authorize" (its accessible name: "Apply credentials")
    dialog.locator("button.btn-done").click()
    search.get_by_role("button", name="Execute").click()
    expect(search.locator(".live-responses-table tbody .response-col_status").first).to_contain_text("200")
    expect(search.locator(".live-responses-table")).to_contain_text('"hits"')
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-swagger.png"))
