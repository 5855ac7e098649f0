"""tests/test_app_openapi.py once more with auth on: the data folder has an admin account
and every request carries its token, so schemathesis reaches each operation as a signed-in
client does — /api/users included, which is refused while there are no accounts — and
checks every answer against the same document."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.auth.accounts import AccountStore
from tests.fakes import fake_analyzers, write_images
from tests.test_app_openapi import IMAGES, MAX_EXAMPLES, _settled, build_app, schema
from tests.waiting import wait_for

# a name schemathesis would not make up for DELETE /api/users/{name}: the run's own account
ADMIN = "openapi-run-admin-3f9c1e7ab2d4"


@pytest.fixture(scope="module")
def token_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[requests.Session, str]]:
    base = tmp_path_factory.mktemp("openapi-auth")
    images = base / "images"
    write_images(images, IMAGES)
    token = AccountStore(base / "data").add(ADMIN, "admin")
    with fake_analyzers(), asgi.get_client(build_app(base, images)) as client:
        yield client, token


@pytest.fixture()
def signed_in(token_session: tuple[requests.Session, str]) -> tuple[requests.Session, str]:
    session, token = token_session
    auth = {"Authorization": f"Bearer {token}"}
    wait_for(lambda: session.get("/api/health").status_code == 200)
    assert session.get("/api/search").status_code == 401  # auth is on
    wait_for(lambda: _settled(session.get("/api/index/status", headers=auth).json()))
    return session, token


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_the_api_answers_as_documented_to_a_client_with_a_token(
    case: schemathesis.Case, signed_in: tuple[requests.Session, str]
) -> None:
    session, token = signed_in
    excluded = [positive_data_acceptance] if case.operation.path == "/api/describe" else []
    case.call_and_validate(
        session=session, headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded
    )
