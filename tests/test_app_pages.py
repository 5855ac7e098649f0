"""The htmx pages through Litestar's test client: full pages and fragments, plain
no-JavaScript GET/POST forms, escaping, uploads and the same-origin check.

The describer is the model-free fake one (tests/fakes.py) behind a real watcher,
so these run in a second; the browser tests use the real models."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from app.config import load_settings
from app.server import create_app
from app.services import Services
from app.web.config import template_engine
from app.web.views import status_view
from catalog.store.base import ImagePoint, SparseVector, StoredImage, point_id
from describe import registry
from describe.facts import DetectedObject
from indexer.status import IndexStatus
from tests.fake_app import BASE_URL, fake_build, loading_site, wait_for
from tests.fakes import fake_analyzers, image_bytes

HOSTILE = "<img src=x onerror=alert(1)>.png"
HOSTILE_BAD = "<svg onload=alert(2)>.jpg"  # not an image: shows up on /failed
SAME_ORIGIN = {"Origin": BASE_URL}
HTMX = {"HX-Request": "true"}


def status(client: TestClient) -> dict:  # type: ignore[type-arg]
    body: dict = client.get("/api/index/status").json()  # type: ignore[type-arg]
    return body


@pytest.fixture(scope="module", autouse=True)
def fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    base = tmp_path_factory.mktemp("pages")
    images = base / "images"
    images.mkdir()
    (images / "red.png").write_bytes(image_bytes(1))
    (images / HOSTILE).write_bytes(image_bytes(2))
    (images / HOSTILE_BAD).write_text("a text file with an image name")
    settings = load_settings({"watch": str(images), "data_dir": str(base / "data")}, environ={})
    with TestClient(create_app(settings, fake_build(images)), base_url=BASE_URL) as client:
        wait_for(lambda: client.get("/api/health").status_code == 200)
        wait_for(lambda: status(client)["indexed"] == 2 and status(client)["failed"] == 1)
        client.app.state["images"] = images
        yield client


def services_of(client: TestClient) -> Services:
    services: Services = client.app.state["runtime"].services
    return services


def hit_id(client: TestClient, filename: str) -> str:
    hits = client.get("/api/search", params={"q": ""}).json()["hits"]
    return next(h["id"] for h in hits if h["filename"] == filename)


# --- search page -------------------------------------------------------------------


def test_search_page_is_a_full_page_with_local_htmx(site: TestClient) -> None:
    page = site.get("/")
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert '<script src="/static/vendor/htmx.min.js"' in page.text and "//cdn" not in page.text
    assert 'id="results"' in page.text and 'id="status"' in page.text
    assert page.text.count('class="card"') == 2
    assert "HX-Request" in page.headers["vary"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in site.get("/images/nope").headers["content-security-policy"]
    js = site.get("/static/vendor/htmx.min.js")
    assert (
        js.status_code == 200
        and js.text.startswith("var htmx")
        and "javascript" in js.headers["content-type"]
    )
    assert site.get("/static/style.css").status_code == 200


def test_htmx_gets_only_the_results_fragment(site: TestClient) -> None:
    fragment = site.get("/", params={"q": "card"}, headers={**HTMX, "HX-Target": "results"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'class="grid"' in fragment.text
    # a history restore (cache miss on Back) needs the whole page
    restore = site.get("/", headers={**HTMX, "HX-Target": "results", "HX-History-Restore-Request": "true"})
    assert restore.text.startswith("<!doctype html>")


def test_query_and_tags_round_trip_through_the_url(site: TestClient) -> None:
    tag = services_of(site).store.get(hit_id(site, "red.png")).tags[0]  # type: ignore[union-attr]
    page = site.get("/", params=[("q", "test card"), ("tag", tag)])
    assert 'value="test card"' in page.text
    assert f'<input type="hidden" name="tag" value="{tag}">' in page.text
    active = re.search(r'<a class="chip on" href="([^"]*)"', page.text)
    assert active is not None and active.group(1) == "/?q=test+card"  # clicking again removes it
    assert 'aria-pressed="true"' in page.text


def test_tag_chips_toggle_and_narrow(site: TestClient) -> None:
    page = site.get("/")
    chips = dict(re.findall(r'<a class="chip" href="(/\?tag=[^"]+)"[^>]*>\s*([^<\s]+)', page.text))
    assert chips, "expected tag chips on the catalog page"
    href, tag = next(iter(chips.items()))
    narrowed = site.get(href.replace("&amp;", "&"))
    cards = narrowed.text.count('class="card"')
    assert 1 <= cards <= 2 and f'<input type="hidden" name="tag" value="{tag}">' in narrowed.text


def test_no_results_says_what_to_do(site: TestClient) -> None:
    page = site.get("/", params={"q": "x", "tag": "no-such-tag"})
    assert "No results" in page.text and "remove a tag filter" in page.text and 'href="/"' in page.text


def test_empty_catalog_says_where_to_put_images(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    settings = load_settings({"watch": str(images), "data_dir": str(tmp_path / "data")}, environ={})
    with TestClient(create_app(settings, fake_build(images)), base_url=BASE_URL) as client:
        wait_for(lambda: client.get("/api/health").status_code == 200)
        page = client.get("/")
        assert "No images yet" in page.text and str(images) in page.text and "/describe" in page.text


# --- escaping and ids ----------------------------------------------------------------


def test_hostile_file_names_are_escaped_everywhere(site: TestClient) -> None:
    escaped = "&lt;img src=x onerror=alert(1)&gt;.png"
    for page in (site.get("/"), site.get(f"/images/{hit_id(site, HOSTILE)}")):
        assert escaped in page.text
        assert "<img src=x" not in page.text
    failed = site.get("/failed")
    assert "&lt;svg onload=alert(2)&gt;.jpg" in failed.text and "<svg" not in failed.text
    assert "not an image" in failed.text
    query = site.get("/", params={"q": '"><script>alert(3)</script>'})
    assert "<script>alert(3)" not in query.text and "&lt;script&gt;alert(3)" in query.text


@pytest.mark.parametrize(
    "bad", ["not-a-uuid", "..%2F..%2Fetc%2Fpasswd", "00000000-0000-0000-0000-000000000000"]
)
def test_unknown_or_hostile_image_ids_are_404_pages(site: TestClient, bad: str) -> None:
    page = site.get(f"/images/{bad}")
    assert page.status_code == 404 and "root:" not in page.text and "Traceback" not in page.text
    if "/" not in bad.replace("%2F", "/"):  # a decoded slash matches no route: the app's JSON 404
        assert page.headers["content-type"].startswith("text/html") and "Not found" in page.text


def test_image_page_shows_the_record(site: TestClient) -> None:
    image_id = hit_id(site, "red.png")
    record = services_of(site).store.get(image_id)
    assert record is not None
    page = site.get(f"/images/{image_id}")
    assert f'src="/api/images/{image_id}/file"' in page.text and f'alt="{record.alt}"' in page.text
    assert record.description in page.text and "red.png" in page.text
    assert f"background:{record.colors[0].hex}" in page.text
    assert "fake-caption" in page.text and "Timings" in page.text and "Composition" in page.text


def test_image_page_draws_object_boxes_and_drops_bad_colours(site: TestClient) -> None:
    store = services_of(site).store
    sha = "ab" * 32
    payload = StoredImage(
        sha256=sha,
        paths=["boxes.png"],
        filename="boxes.png",
        description="Two cats.",
        alt="Two cats on a sofa.",
        boxes=[
            DetectedObject("cat", 0.91, (0.1, 0.2, 0.5, 0.9)),
            DetectedObject("<b>", 0.5, (0.6, 0.1, 0.6, 0.2)),
        ],
        colors=[],
    )
    payload.colors.append(type(store.get(hit_id(site, "red.png")).colors[0])("x", "red", "red;x:y", 0.5))  # type: ignore[union-attr]
    store.upsert([ImagePoint(point_id(sha), [0.0] * 16, SparseVector([], []), payload)])
    try:
        page = site.get(f"/images/{point_id(sha)}")
        assert 'style="left:10.00%;top:20.00%;width:40.00%;height:70.00%"' in page.text
        assert "cat 91%" in page.text and page.text.count('class="box"') == 1  # the empty box is dropped
        assert "red;x:y" not in page.text  # only #rrggbb reaches a style attribute
    finally:
        store.delete([point_id(sha)])


# --- describe page -------------------------------------------------------------------


def test_describe_without_javascript_then_add_to_catalog(site: TestClient) -> None:
    images: Path = site.app.state["images"]
    before = set(images.iterdir())
    form = site.get("/describe")
    assert 'enctype="multipart/form-data"' in form.text and '<option value="detailed"' in form.text
    page = site.post(
        "/describe",
        files={"image": ("../../up <b>one.png", image_bytes(7))},
        data={"profile": "detailed", "captioner": "fake-caption"},
        headers=SAME_ORIGIN,
    )
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert "detailed profile" in page.text and "A test card" in page.text
    assert set(images.iterdir()) == before  # describing stores nothing in the catalog
    sha = re.search(r'name="sha256" value="([0-9a-f]{64})"', page.text).group(1)  # type: ignore[union-attr]
    assert site.get(f"/describe/uploads/{sha}").content == image_bytes(7)

    added = site.post(
        "/describe/add", data={"sha256": sha, "filename": "../../up <b>one.png"}, headers=SAME_ORIGIN
    )
    assert added.status_code == 200 and "Added as" in added.text
    [new] = set(images.iterdir()) - before
    assert new.name == "up-b-one.png"  # the basename, cleaned; the extension kept
    assert f"/images/{point_id(sha)}" in added.text
    wait_for(lambda: services_of(site).store.get(point_id(sha)) is not None)
    again = site.post("/describe/add", data={"sha256": sha, "filename": "x.png"}, headers=SAME_ORIGIN)
    assert again.status_code == 404 and "describe it again" in again.text


def test_describe_with_htmx_returns_the_fragment(site: TestClient) -> None:
    fragment = site.post(
        "/describe",
        files={"image": ("cup.png", image_bytes(8))},
        data={"profile": "alt"},
        headers={**SAME_ORIGIN, **HTMX, "HX-Target": "result"},
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "alt profile" in fragment.text and 'hx-post="/describe/add"' in fragment.text


def test_describe_errors_are_shown_in_the_page(site: TestClient) -> None:
    bad = site.post(
        "/describe",
        files={"image": ("x.jpg", b"hello")},
        headers={**SAME_ORIGIN, **HTMX, "HX-Target": "result"},
    )
    assert bad.status_code == 415 and "not an image" in bad.text and "<html" not in bad.text
    none = site.post(
        "/describe", files={"image": ("", b"")}, data={"profile": "default"}, headers=SAME_ORIGIN
    )
    assert none.status_code == 400 and "Choose an image first" in none.text and "<!doctype html>" in none.text
    captioner = site.post(
        "/describe",
        files={"image": ("a.png", image_bytes(9))},
        data={"captioner": "gpt"},
        headers=SAME_ORIGIN,
    )
    assert captioner.status_code == 404 and "unknown captioner" in captioner.text
    describer = services_of(site).describer
    unloaded = [n for n in registry.names("caption") if n not in describer.loaded_captioners()]
    if unloaded:  # registered but not resident: refused rather than loaded for one request
        refused = site.post(
            "/describe",
            files={"image": ("a.png", image_bytes(9))},
            data={"captioner": unloaded[0]},
            headers=SAME_ORIGIN,
        )
        assert refused.status_code == 409 and "not loaded" in refused.text
    form = site.get("/describe").text
    assert f'<option value="{describer.captioner}" selected>' in form and "classic" in form


@pytest.mark.parametrize("sha", ["../../etc/passwd", "a" * 63, "A" * 64, ""])
def test_add_and_preview_refuse_anything_but_a_known_hash(site: TestClient, sha: str) -> None:
    assert site.post("/describe/add", data={"sha256": sha}, headers=SAME_ORIGIN).status_code == 404
    assert site.get(f"/describe/uploads/{sha or 'x'}").status_code == 404


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Origin": BASE_URL}, 404),
        ({"Referer": f"{BASE_URL}/describe"}, 404),
        ({}, 404),  # not a browser (curl): no cross-site risk
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}, 421),  # DNS rebinding
    ],
)
def test_form_posts_must_come_from_this_site(
    site: TestClient, headers: dict[str, str], expected: int
) -> None:
    response = site.post("/describe/add", data={"sha256": "0" * 64}, headers=headers)
    assert response.status_code == expected
    assert response.headers["content-type"].startswith("text/html")


# --- status bar and failures ---------------------------------------------------------


def test_status_bar_polls_only_while_work_is_pending() -> None:
    render = template_engine().get_template("partials/status.html").render
    busy = render(status=status_view(IndexStatus(3, 3, pending=2, failed=1, failures=[], watching="/x")))
    idle = render(status=status_view(IndexStatus(5, 5, pending=0, failed=0, failures=[], watching="/x")))
    assert 'hx-trigger="every 2s"' in busy and "<b>2</b> pending" in busy
    assert 'hx-trigger="every 15s, imgdesc-added from:body"' in idle  # a slow look only


def test_status_fragment_tells_the_results_to_refresh_when_the_count_moves(site: TestClient) -> None:
    indexed = status(site)["indexed"]
    same = site.get("/fragments/status", params={"seen": indexed}, headers=HTMX)
    moved = site.get("/fragments/status", params={"seen": indexed - 1}, headers=HTMX)
    assert "hx-trigger" not in same.headers and moved.headers["hx-trigger"] == "imgdesc-indexed"
    assert same.text.startswith('<div id="status"') and f"<b>{indexed}</b> indexed" in same.text


def test_pages_say_models_are_loading(tmp_path: Path) -> None:
    with loading_site(tmp_path) as (client, _):
        page = client.get("/")
        assert page.status_code == 503 and "imgdesc is starting" in page.text
        assert '<meta http-equiv="refresh"' in page.text
        bar = client.get("/fragments/status")
        assert "Loading models" in bar.text and 'hx-trigger="every 2s"' in bar.text


def test_weak_matches_are_shown_below_a_divider_not_hidden(site: TestClient) -> None:
    services = services_of(site)
    real = services.search.search("card", limit=10)
    assert len(real) >= 2  # every image is ranked, whatever the query: none is cut off
    strong = msgspec.structs.replace(real[0], likely=True)
    weak = msgspec.structs.replace(real[1], likely=False)
    original = services.search.search
    services.search.search = lambda *a, **k: [strong, weak]  # type: ignore[method-assign]
    try:
        page = site.get("/", params={"q": "card"}).text
    finally:
        services.search.search = original  # type: ignore[method-assign]
    assert "2 images for “card”, 1 likely" in page
    head, _, tail = page.partition("Less likely matches")
    assert strong.id in head and weak.id not in head
    assert weak.id in tail and 'class="card weak"' in tail
