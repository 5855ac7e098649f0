"""The REST API through Litestar's test client, with the real models, a real
embedded store and a watched folder in a temp directory."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from litestar.testing import TestClient

from app.config import Settings, load_settings
from app.dev.samples import render_sign
from app.server import create_app
from app.services import Services, build_services
from tests import waiting
from tests.conftest import encode

pytestmark = pytest.mark.slow
BASE_URL = "http://127.0.0.1:8000"  # the app answers to loopback names only (app/guards.py)


def wait_for(check: Callable[[], bool], timeout: float = 60.0) -> float:
    return waiting.wait_for(check, timeout, interval=0.2)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, np.ndarray]) -> Iterator[TestClient]:
    base = tmp_path_factory.mktemp("catalog")
    images = base / "images"
    images.mkdir()
    for name in ("chelsea", "coffee", "astronaut", "china"):
        (images / f"{name}.jpg").write_bytes(encode(photos[name], "JPEG"))
    (images / "sale.png").write_bytes(
        encode(np.asarray(render_sign("SUMMER SALE", "50% OFF", (200, 30, 40), (255,) * 3)))
    )
    (images / "notes.jpg").write_text("a text file with an image name")
    settings = load_settings(
        {"watch": str(images), "data_dir": str(base / "data"), "max_bytes": 2_000_000}, environ={}
    )
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        wait_for(lambda: client.get("/api/health").status_code == 200)
        wait_for(
            lambda: (
                client.get("/api/index/status").json()["indexed"] == 5
                and client.get("/api/index/status").json()["failed"] == 1
            )
        )
        client.app.state["images"] = images
        yield client


def test_health_reports_the_captioner(catalog: TestClient) -> None:
    body = catalog.get("/api/health").json()
    assert body["status"] == "ok" and body["captioner"] == "classic"
    assert "default" in body["profiles"]


def test_index_status_lists_the_failure_with_its_reason(catalog: TestClient) -> None:
    status = catalog.get("/api/index/status").json()
    assert status["indexed"] == 5 and status["pending"] == 0 and status["failed"] == 1
    [failure] = status["failures"]
    assert failure["path"] == "notes.jpg" and "not an image" in failure["error"]


def test_search_ranks_the_cat_first_and_marks_the_rest_less_likely(catalog: TestClient) -> None:
    hits = catalog.get("/api/search", params={"q": "cat"}).json()["hits"]
    assert hits[0]["filename"] == "chelsea.jpg" and hits[0]["likely"] is True
    assert {"id", "path", "filename", "score", "description", "tags", "likely"} <= set(hits[0])
    # nothing is discarded: every image is ranked, the unrelated ones below the divider
    assert len(hits) == catalog.get("/api/index/status").json()["images"]
    coffee = next(h for h in hits if h["filename"] == "coffee.jpg")
    assert coffee["likely"] is False and coffee["score"] < hits[0]["score"]


def test_exact_words_from_ocr_match(catalog: TestClient) -> None:
    hits = catalog.get("/api/search", params={"q": "sale"}).json()["hits"]
    assert [h["filename"] for h in hits][:1] == ["sale.png"]


def test_tag_filters_must_all_match(catalog: TestClient) -> None:
    animal = catalog.get("/api/search", params={"q": "", "tag": ["animal"]}).json()["hits"]
    assert [h["filename"] for h in animal] == ["chelsea.jpg"]
    both = catalog.get("/api/search", params=[("q", "image"), ("tag", "animal"), ("tag", "text")]).json()[
        "hits"
    ]
    assert both == []


def test_tag_facets(catalog: TestClient) -> None:
    tags = {t["tag"]: t["count"] for t in catalog.get("/api/tags").json()}
    assert tags["cat"] == 1 and tags["person"] >= 1
    narrowed = {t["tag"] for t in catalog.get("/api/tags", params={"tag": "cat"}).json()}
    assert "cat" in narrowed and "cup" not in narrowed


def test_image_record_thumbnail_and_file_by_id(catalog: TestClient) -> None:
    hit = catalog.get("/api/search", params={"q": "cat"}).json()["hits"][0]
    record = catalog.get(f"/api/images/{hit['id']}").json()
    assert record["paths"] == ["chelsea.jpg"] and record["alt"] and record["sha256"]
    thumb = catalog.get(f"/api/images/{hit['id']}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    original = catalog.get(f"/api/images/{hit['id']}/file")
    assert original.status_code == 200 and original.content[:2] == b"\xff\xd8"
    for response in (thumb, original, catalog.get("/static/style.css")):  # files are what we say they are
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/static/style.css%00.png", "/static/x%00.png", "/static/%00"])
def test_a_nul_in_a_static_path_is_404_not_500(catalog: TestClient, path: str) -> None:
    assert catalog.get(path).status_code == 404


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_or_hostile_ids_are_404_json(catalog: TestClient, bad_id: str) -> None:
    for suffix in ("", "/thumbnail", "/file"):
        response = catalog.get(f"/api/images/{bad_id}{suffix}")
        assert response.status_code == 404
        assert "error" in response.json()


def test_describe_an_upload(catalog: TestClient, photos: dict[str, np.ndarray]) -> None:
    files = {"image": ("cat.jpg", encode(photos["chelsea"], "JPEG"), "image/jpeg")}
    body = catalog.post("/api/describe", files=files).json()
    assert "path" not in body
    assert "cat" in body["tags"] and body["captioner"] == "classic"
    alt = catalog.post("/api/describe", files=files, params={"profile": "alt"}).json()
    assert len(alt["description"]) <= 125 and alt["profile"] == "alt"


def test_describe_errors_are_json_4xx(catalog: TestClient) -> None:
    not_image = catalog.post("/api/describe", files={"image": ("x.jpg", b"hello", "image/jpeg")})
    assert not_image.status_code == 415 and "not an image" in not_image.json()["error"]
    empty = catalog.post("/api/describe", files={"image": ("x.jpg", b"", "image/jpeg")})
    assert empty.status_code == 422 and "empty" in empty.json()["error"]
    big = catalog.post("/api/describe", files={"image": ("x.jpg", b"\xff" * 2_100_000, "image/jpeg")})
    assert big.status_code == 413 and "limit" in big.json()["error"]
    huge = catalog.post("/api/describe", files={"image": ("x.jpg", b"\xff" * 3_200_000, "image/jpeg")})
    assert huge.status_code == 413 and huge.json()["error"] == "the upload is over the 1.9 MiB limit"
    missing = catalog.post("/api/describe", files={"photo": ("x.jpg", b"abc", "image/jpeg")})
    assert missing.status_code == 400 and "image" in missing.json()["error"]
    unknown = catalog.post(
        "/api/describe", files={"image": ("x.jpg", b"abc", "image/jpeg")}, params={"profile": "x"}
    )
    assert unknown.status_code == 404 and "valid" in unknown.json()["error"]
    assert catalog.get("/api/search", params={"q": "cat", "limit": 0}).status_code == 400


def test_a_file_dropped_into_the_folder_is_found(catalog: TestClient, photos: dict[str, np.ndarray]) -> None:
    images: Path = catalog.app.state["images"]
    (images / "rocket.jpg").write_bytes(encode(photos["rocket"], "JPEG"))
    wait_for(lambda: catalog.get("/api/index/status").json()["indexed"] == 6, timeout=30)
    shutil.move(images / "rocket.jpg", images / "moved-rocket.jpg")
    wait_for(
        lambda: any(
            h["filename"] == "moved-rocket.jpg"
            for h in catalog.get("/api/search", params={"q": ""}).json()["hits"]
        ),
        timeout=30,
    )
    (images / "moved-rocket.jpg").unlink()
    wait_for(lambda: catalog.get("/api/index/status").json()["indexed"] == 5, timeout=30)


def test_busy_describer_answers_503_with_retry_after(tmp_path: Path) -> None:
    import threading

    gate, entered = threading.Event(), threading.Event()

    def build(settings: Settings) -> Services:
        from app.work import WorkLane

        services = build_services(settings)
        services.lane = WorkLane(capacity=1)
        original = services.describer.describe

        def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
            entered.set()
            gate.wait(10)
            return original(*args, **kwargs)

        services.describer.describe = slow  # type: ignore[method-assign]
        return services

    settings = load_settings({"watch": None, "data_dir": str(tmp_path / "data")}, environ={})
    image = encode(np.full((64, 64, 3), 200, np.uint8))
    with TestClient(create_app(settings, build=build), base_url=BASE_URL) as client:
        wait_for(lambda: client.get("/api/health").status_code == 200)
        results: list[int] = []
        first = threading.Thread(
            target=lambda: results.append(
                client.post("/api/describe", files={"image": ("a.png", image)}).status_code
            )
        )
        first.start()
        assert entered.wait(30)  # the first upload holds the lane's one place
        busy = client.post("/api/describe", files={"image": ("b.png", image)})
        gate.set()
        first.join()
        assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
        assert busy.json()["error"].startswith("the describer is busy")
        assert results == [200]


def _png_with_prompt(pixels: np.ndarray, prompt: str) -> bytes:
    """A PNG as Stable Diffusion web UIs write it: the prompt in a `parameters` chunk."""
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", f"{prompt}\nNegative prompt: blurry\nSteps: 20, Seed: 7, Model: sdxl")
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def test_describe_checks_the_callers_prompt(catalog: TestClient, photos: dict[str, np.ndarray]) -> None:
    files = {"image": ("cat.jpg", encode(photos["chelsea"], "JPEG"), "image/jpeg")}
    body = catalog.post("/api/describe", files=files, data={"prompt": "a dog and a cat"}).json()
    check = body["prompt_check"]
    assert check["source"] == "caller"
    status = {item["thing"]: item["status"] for item in check["items"]}
    assert status == {"dog": "not_seen", "cat": "seen"}
    assert "prompt-mismatch" in body["tags"]
    # without a prompt (and none in the file) there is nothing to check
    assert catalog.post("/api/describe", files=files).json()["prompt_check"] is None


def test_describe_page_shows_the_prompt_check(catalog: TestClient, photos: dict[str, np.ndarray]) -> None:
    files = {"image": ("cat.jpg", encode(photos["chelsea"], "JPEG"), "image/jpeg")}
    page = catalog.post("/describe", files=files, data={"prompt": "a dog and a cat"})
    assert page.status_code == 200
    assert "Prompt vs picture" in page.text and "not seen" in page.text and "a dog" in page.text


def test_a_generated_image_shows_its_prompt_and_can_be_filtered(
    catalog: TestClient, photos: dict[str, np.ndarray]
) -> None:
    images: Path = catalog.app.state["images"]
    # the cat photo, generated (so the file says) from a prompt asking for coffee as well
    prompt = "a cat beside a cup of espresso on a saucer"
    (images / "generated.png").write_bytes(_png_with_prompt(photos["chelsea"], prompt))
    wait_for(lambda: catalog.get("/api/index/status").json()["indexed"] == 6, timeout=30)
    try:
        [hit] = catalog.get("/api/search", params={"tag": "prompt-mismatch"}).json()["hits"]
        assert hit["filename"] == "generated.png" and "ai-generated" in hit["tags"]
        # the prompt's words find it, below the photo that really shows them
        found = [
            h["filename"] for h in catalog.get("/api/search", params={"q": "espresso saucer"}).json()["hits"]
        ]
        assert found[0] == "coffee.jpg" and "generated.png" in found[1:3], found
        # the search page offers the filter even when the tag is rare
        assert 'href="/?tag=prompt-mismatch"' in catalog.get("/").text
        image_page = catalog.get(f"/images/{hit['id']}").text
        assert "Prompt vs picture" in image_page and "not seen" in image_page and "sdxl" in image_page
    finally:
        (images / "generated.png").unlink()
        wait_for(lambda: catalog.get("/api/index/status").json()["indexed"] == 5, timeout=30)
