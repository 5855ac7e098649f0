"""What the server promises at its edges, with the model-free fakes: tags that
normalise to nothing, errors that state their limit, one rule for 400 vs 415,
Retry-After while loading, an OpenAPI document that matches what is sent, API
docs that work offline, and a README that lists every status code."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient
from PIL import Image

from app.config import load_settings
from app.errors import ERRORS
from app.services import Services
from describe import registry
from describe.knowledge.language import singular
from describe.knowledge.vocabulary import normalise_tag
from search.service import SearchService
from tests.fake_app import BASE_URL, fake_site, loading_site, wait_for
from tests.fakes import FakeStore, HashEmbedder, fake_analyzers, image_bytes, write_images

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 1024 * 1024  # 1 MiB; the body limit is 1 MiB more (multipart framing)
SAME_ORIGIN = {"Origin": BASE_URL}
NOTHING_TAGS = ["", "_", "__", "_ _", " "]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    base = tmp_path_factory.mktemp("contract")
    images = base / "images"
    write_images(images, 2)
    with fake_analyzers(), fake_site(base, images, max_bytes=MAX_BYTES) as client:
        wait_for(lambda: client.get("/api/index/status").json()["indexed"] == 2)
        yield client


def an_id(client: TestClient) -> str:
    hit_id: str = client.get("/api/search").json()["hits"][0]["id"]
    return hit_id


# --- tags that normalise to nothing (issue 11, item 1) -------------------------------


def test_a_tag_of_only_underscores_and_spaces_normalises_to_nothing() -> None:
    assert [normalise_tag(t) for t in NOTHING_TAGS] == [""] * len(NOTHING_TAGS)
    assert singular("") == ""
    assert normalise_tag("Dining_Tables") == "table"


def test_search_ignores_tags_that_normalise_to_nothing() -> None:
    """The CLI's `imgdesc search --tag _` goes through this service."""
    search = SearchService(FakeStore(), HashEmbedder())
    assert search.search("", ["_"]) == [] and search.search("cat", ["_ _"]) == []
    assert search.facets(["__"]) == []


@pytest.mark.parametrize("tag", NOTHING_TAGS)
def test_tags_that_normalise_to_nothing_filter_nothing(site: TestClient, tag: str) -> None:
    everything = site.get("/api/search").json()["hits"]
    search = site.get("/api/search", params={"tag": tag})
    assert search.status_code == 200 and search.json()["hits"] == everything
    assert site.get("/api/tags", params={"tag": tag}).json() == site.get("/api/tags").json()
    page = site.get("/", params={"tag": tag})
    assert page.status_code == 200 and page.text.count('class="card"') == len(everything)
    fragment = site.get("/", params={"tag": tag}, headers={"HX-Request": "true", "HX-Target": "results"})
    assert fragment.status_code == 200 and "<html" not in fragment.text


# --- allowed hosts and origins (item 2) ----------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/failed", "/describe", "/api/search", "/api/health", "/api/docs", "/static/style.css"]
)
def test_every_route_refuses_a_foreign_host(site: TestClient, path: str) -> None:
    refused = site.get(path, headers={"Host": "evil.example:8000"})
    assert refused.status_code == 421
    if path.startswith("/api"):
        assert "allowed_hosts" in refused.json()["error"]
    elif not path.startswith("/static"):
        assert refused.headers["content-type"].startswith("text/html")
        assert "allowed_hosts" in refused.text and "indexed" not in refused.text  # nothing of the catalog


def test_the_original_file_is_refused_to_a_foreign_host(site: TestClient) -> None:
    url = f"/api/images/{an_id(site)}/file"
    assert site.get(url).status_code == 200
    assert site.get(url, headers={"Host": "evil.example"}).status_code == 421


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "127.0.0.1"])
def test_loopback_names_are_answered(site: TestClient, host: str) -> None:
    assert site.get("/api/search", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(("origin", "expected"), [(BASE_URL, 200), ("http://evil.example", 403), (None, 200)])
def test_describe_refuses_a_post_from_another_site(
    site: TestClient, origin: str | None, expected: int
) -> None:
    headers = {"Origin": origin} if origin else {}
    response = site.post("/api/describe", files={"image": ("a.png", image_bytes(3))}, headers=headers)
    assert response.status_code == expected
    if expected == 403:
        assert "another site" in response.json()["error"]


def test_allowed_hosts_widen_the_rule(tmp_path: Path) -> None:
    with fake_analyzers(), fake_site(tmp_path, allowed_hosts=["photos.lan", "NAS.lan:8000"]) as client:
        assert client.get("/api/search", headers={"Host": "photos.lan:8000"}).status_code == 200
        assert client.get("/api/search", headers={"Host": "nas.lan"}).status_code == 200
        assert client.get("/api/search", headers={"Host": "evil.example"}).status_code == 421
    with fake_analyzers(), fake_site(tmp_path, allowed_hosts=["*"]) as client:
        assert client.get("/api/search", headers={"Host": "anything.example"}).status_code == 200


def test_a_server_bound_to_an_address_answers_to_it(tmp_path: Path) -> None:
    with fake_analyzers(), fake_site(tmp_path, host="0.0.0.0") as client:
        assert client.get("/api/search", headers={"Host": "0.0.0.0:8000"}).status_code == 200
        assert client.get("/api/search", headers={"Host": "192.168.1.9:8000"}).status_code == 421
    with fake_analyzers(), fake_site(tmp_path, host="::") as client:
        assert client.get("/api/search", headers={"Host": "[::]:8000"}).status_code == 200


def test_allowed_hosts_come_from_the_environment_comma_separated() -> None:
    settings = load_settings(environ={"IMGDESC_ALLOWED_HOSTS": "photos.lan, nas.local,"})
    assert settings.allowed_hosts == ["photos.lan", "nas.local"]
    assert load_settings({"allowed_hosts": ["a.lan"]}, environ={}).allowed_hosts == ["a.lan"]


# --- errors that state their limit (item 13) and one rule for 400/415 (item 14) ----------


def test_an_upload_over_the_body_limit_says_the_limit(site: TestClient) -> None:
    big = b"\xff" * (3 * MAX_BYTES)
    rest = site.post("/api/describe", files={"image": ("x.jpg", big)})
    assert rest.status_code == 413 and rest.json()["error"] == "the upload is over the 1 MiB limit"
    page = site.post("/describe", files={"image": ("x.jpg", big)}, headers=SAME_ORIGIN)
    assert page.status_code == 413 and "over the 1 MiB limit" in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_a_file_over_max_bytes_says_its_size_and_the_limit_in_mib(site: TestClient) -> None:
    response = site.post("/api/describe", files={"image": ("x.jpg", b"\xff" * (MAX_BYTES + MAX_BYTES // 2))})
    assert response.status_code == 413
    assert response.json()["error"] == "x.jpg: file is 1.5 MiB, over the 1 MiB limit"


def test_too_many_pixels_says_by_how_much(site: TestClient) -> None:
    buf = io.BytesIO()
    Image.new("1", (10001, 10000)).save(buf, format="PNG")  # 100.01 MP, a few kB
    response = site.post("/api/describe", files={"image": ("big.png", buf.getvalue())})
    assert response.status_code == 413
    assert "10001×10000 is 100.0 MP, over the 100 MP limit" in response.json()["error"]


def test_a_malformed_upload_is_400_and_only_a_non_image_is_415(site: TestClient) -> None:
    raw = site.post("/api/describe", content=b"\xff\xd8 raw bytes", headers={"Content-Type": "image/jpeg"})
    assert raw.status_code == 400 and "multipart" in raw.json()["error"]
    missing = site.post("/api/describe", files={"photo": ("x.jpg", b"abc")})
    assert missing.status_code == 400 and "`image`" in missing.json()["error"]
    text_field = site.post("/api/describe", files={"image": (None, "just text")})
    assert text_field.status_code == 400
    not_image = site.post("/api/describe", files={"image": ("x.jpg", b"hello")})
    assert not_image.status_code == 415 and "not an image" in not_image.json()["error"]
    page = site.post("/describe", files={"image": ("", b"")}, headers=SAME_ORIGIN)
    assert page.status_code == 400 and "Choose an image first" in page.text


def test_a_captioner_that_is_not_loaded_is_409(site: TestClient) -> None:
    services: Services = site.app.state["runtime"].services
    unloaded = [n for n in registry.names("caption") if n not in services.describer.loaded_captioners()]
    response = site.post(
        "/api/describe", files={"image": ("a.png", image_bytes(4))}, params={"captioner": unloaded[0]}
    )
    assert response.status_code == 409 and "not loaded" in response.json()["error"]


def test_health_while_loading_is_503_with_retry_after(tmp_path: Path) -> None:
    with loading_site(tmp_path) as (client, gate):
        health = client.get("/api/health")
        assert health.status_code == 503 and health.json()["status"] == "loading"
        assert int(health.headers["retry-after"]) > 0
        gate.set()
        wait_for(lambda: client.get("/api/health").json()["status"] == "failed")
        failed = client.get("/api/health")  # a failed load will not recover by retrying
        assert failed.status_code == 503 and "retry-after" not in failed.headers


def test_the_readme_lists_every_status_code_the_api_documents() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("Errors are JSON", 1)[1].split("Every route", 1)[0]
    listed = {int(code) for code in re.findall(r"^\| (\d{3}) \|", section, flags=re.MULTILINE)}
    assert listed == set(ERRORS)


# --- the OpenAPI document (item 8) and the docs page (item 9) --------------------------


def test_openapi_documents_what_is_sent(site: TestClient) -> None:
    doc = site.get("/api/docs/openapi.json").json()
    describe = doc["paths"]["/api/describe"]["post"]
    body = describe["requestBody"]["content"]["multipart/form-data"]["schema"]
    form = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert form["required"] == ["image"]
    assert {"400", "404", "409", "413", "415", "422", "503"} <= set(describe["responses"])
    error = describe["responses"]["400"]["content"]["application/json"]["schema"]
    error_schema = doc["components"]["schemas"][error["$ref"].rsplit("/", 1)[1]]
    assert set(error_schema["properties"]) == {"error", "detail"}
    original = doc["paths"]["/api/images/{id}/file"]["get"]["responses"]
    assert list(original["200"]["content"]) == ["image/*"] and "404" in original
    assert "format" not in original["200"]["headers"]["last-modified"]["schema"]


def test_the_original_file_is_sent_as_documented(site: TestClient) -> None:
    response = site.get(f"/api/images/{an_id(site)}/file")
    assert response.headers["content-type"] == "image/png"
    assert parsedate_to_datetime(response.headers["last-modified"]).year >= 2024  # an HTTP date


def test_api_docs_load_nothing_from_other_hosts(site: TestClient) -> None:
    page = site.get("/api/docs")
    assert page.status_code == 200
    head = page.text.split("Redoc.init(", 1)[0]  # what follows is the schema itself
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", head)
    assert "/static/vendor/redoc.standalone.js" in urls
    assert all(u.startswith(("/", "data:")) for u in urls), urls
    assert "googleapis" not in page.text and "cdn." not in page.text
    js = site.get("/static/vendor/redoc.standalone.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert js.text.startswith("/*! For license information please see redoc.standalone.js.LICENSE.txt */")
