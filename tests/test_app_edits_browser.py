"""People's edits in a real browser (tests/test_app_browser.py's set-up: Debian's
Chromium driving `imgdesc serve` with the real models, nothing allowed off 127.0.0.1):
the image page's editor and the search page's bulk tag bar, swapped in by htmx."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import encode
from tests.test_app_browser import ARGS, ARTIFACTS, CHROMIUM, Site, Watch, open_context
from tests.waiting import wait_for
from tools.first_start import free_port, stop

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, np.ndarray]) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("edits-browser")
    images = base / "images"
    images.mkdir()
    for name in ("chelsea", "coffee"):
        (images / f"{name}.jpg").write_bytes(encode(photos[name], "JPEG"))
    site = Site(f"http://127.0.0.1:{free_port()}", images, base / "server.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGDESC_")}
    port = site.url.rsplit(":", 1)[1]
    command = [sys.executable, "-c", "from app.cli import main; main()", "serve", "--host", "127.0.0.1",
               "--port", port, "--watch", str(images), "--data-dir", str(base / "data")]  # fmt: skip
    with site.log.open("wb") as log:
        process = subprocess.Popen(command, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def indexed() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"imgdesc serve exited:\n{site.log.read_text()[-3000:]}")
            try:
                status = site.api("/api/index/status")
            except OSError:
                return False  # not listening yet, or models still loading (503)
            return bool(status["indexed"] == 2 and status["pending"] == 0)

        wait_for(indexed, 240, interval=0.5)
        yield site
    finally:
        stop(process)


@pytest.fixture()
def page(site: Site) -> Iterator[Page]:
    watch = Watch()
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = open_context(browser, watch)
        yield context.new_page()
        context.close()
        browser.close()
    assert watch.offline_violations == [], "the pages asked for something outside 127.0.0.1"
    assert watch.dialogs == [], "a script ran (a dialog opened): something was not escaped"
    assert watch.console_errors == [], "the browser reported errors"


def test_correcting_an_image_and_tagging_a_search_result(site: Site, page: Page) -> None:
    cat = site.image_id("chelsea.jpg")
    page.goto(f"{site.url}/images/{cat}")
    page.evaluate("window.__samePage = true")
    editor = page.locator("#editor")
    first = editor.locator(".chip a").first.inner_text()
    # Enter in the tag field adds (its own form: never the first chip's ×)
    page.locator("#add-tag").fill("Brand X")
    page.locator("#add-tag").press("Enter")
    expect(editor.locator(".chip.user")).to_have_text(re.compile(r"^\s*brand x\s*×\s*$"))
    expect(editor.locator(".chip a", has_text=re.compile(f"^{re.escape(first)}$"))).to_have_count(1)
    editor.get_by_role("button", name=f"Remove the tag “{first}”").click()
    expect(editor.locator(".chip a", has_text=re.compile(f"^{re.escape(first)}$"))).to_have_count(0)
    page.locator("#description").fill("A quokkaroo asleep on a red blanket.")
    editor.get_by_role("button", name="Save description").click()
    expect(editor.locator(".machine")).to_contain_text("The machine said:")
    assert page.evaluate("window.__samePage === true"), "the editor must update without a page load"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "image-editor.png"), full_page=True)
    record = site.api(f"/api/images/{cat}")
    assert record["description"] == "A quokkaroo asleep on a red blanket."
    assert "brand x" in record["tags"] and first not in record["tags"] and first in record["machine_tags"]

    # search finds the person's word at once; the bulk bar tags the ticked (likely) hits
    page.goto(site.url + "/?q=quokkaroo")
    expect(page.locator(".card h3").first).to_have_text("chelsea.jpg")
    ticked = page.locator('.card input[name="id"]:checked')
    expect(ticked).to_have_count(1)
    page.locator("#bulk-tag").fill("campaign")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#bulk-tag")).to_have_value("")  # the results, answered again
    assert [h["id"] for h in site.api("/api/search?tag=campaign")["hits"]] == [cat]
    expect(page).to_have_url(re.compile(r"/\?q=quokkaroo$"))  # still the same search

    # and back to the machine's text
    page.goto(f"{site.url}/images/{cat}")
    page.get_by_role("button", name="Back to machine text").click()
    expect(page.locator(".machine")).to_have_count(0)
    assert site.api(f"/api/images/{cat}")["description"] == record["machine_description"]
