"""The OpenAPI document tells the truth: schemathesis generates requests from it
(valid and invalid) for every REST operation and checks each answer against it:
no 5xx, and every status, content type, header and body as documented.

In-process against the ASGI app with the model-free fakes (tests/fake_app.py),
bounded examples, derandomized so that a run is repeatable; well under a minute."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.config import load_settings
from app.server import create_app
from tests.fake_app import fake_build, wait_for
from tests.fakes import fake_analyzers, write_images

MAX_EXAMPLES = 25  # per operation and generation mode (valid, invalid)
IMAGES = 3


def build_app(base: Path, images: Path | None) -> Litestar:
    # schemathesis's in-process client sends Host: testserver; the app is told to allow it
    overrides = {
        "watch": images and str(images),
        "data_dir": str(base / "data"),
        "allowed_hosts": [asgi.HOST],
    }
    return create_app(load_settings(overrides, environ={}), fake_build(images))


# The document exactly as the app serves it; building it starts nothing.
schema = schemathesis.openapi.from_dict(build_app(Path("unused"), None).openapi_schema.to_schema())


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[requests.Session]:
    base = tmp_path_factory.mktemp("openapi")
    images = base / "images"
    write_images(images, IMAGES)
    (images / "notes.png").write_text("not an image")  # a failed file in the status
    with fake_analyzers(), asgi.get_client(build_app(base, images)) as client:
        yield client


@pytest.fixture()
def ready(session: requests.Session) -> requests.Session:
    """schemathesis ends the app's lifespan after each test; the first request of the
    next one starts it again, so wait for the models and the catalog each time."""
    wait_for(lambda: session.get("/api/health").status_code == 200)
    # a new lifespan brings a new (empty) fake store: the start-up reconcile re-queues
    # every file, so "indexed" alone is not enough until it has run and the queue is empty
    wait_for(lambda: _settled(session.get("/api/index/status").json()))
    return session


def _settled(status: dict[str, Any]) -> bool:
    return bool(status["ready"] and status["pending"] == 0 and status["indexed"] == IMAGES)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_api_answers_as_documented(case: schemathesis.Case, ready: requests.Session) -> None:
    # A schema cannot say "bytes that decode as an image": schema-valid random bytes
    # are rightly refused (415/422), so only that one check is left out for uploads.
    excluded = [positive_data_acceptance] if case.operation.path == "/api/describe" else []
    case.call_and_validate(session=ready, excluded_checks=excluded)


@pytest.mark.parametrize("suffix", ["", "/thumbnail", "/file"])
def test_an_existing_image_is_sent_as_documented(ready: requests.Session, suffix: str) -> None:
    """Generated ids never name a stored image; these cases use real ones, so the 200
    answers (content type, Last-Modified, body) are checked against the document too."""
    image_id = ready.get("/api/search").json()["hits"][0]["id"]
    case = schema[f"/api/images/{{id}}{suffix}"]["GET"].Case(path_parameters={"id": image_id})
    response = case.call_and_validate(session=ready)
    assert response.status_code == 200
