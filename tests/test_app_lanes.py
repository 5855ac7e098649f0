"""Work of different kinds runs in different lanes (issue 10, item 3): describing
uploads has its bounded one-thread lane; search, store reads and status have a
pool of their own, so a full describe lane neither delays nor refuses them.

The fake describer is held at a gate (tests/fakes.py DescribeGate): the tests
wait on the gate and the lane's count, never on time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from litestar.testing import TestClient

from app.config import Settings, load_settings
from app.server import create_app
from app.services import Services
from app.work import BusyError, ReadPool, WorkLane
from tests.fake_app import BASE_URL, fake_build, wait_for
from tests.fakes import DescribeGate, fake_analyzers, image_bytes, write_images

IMAGES = 3
SEARCHES = 20


class Site:
    def __init__(self, client: TestClient, services: Services) -> None:
        self.client, self.services = client, services

    def describe(self, seed: int) -> int:
        files = {"image": (f"upload{seed}.png", image_bytes(seed))}
        return self.client.post("/api/describe", files=files).status_code


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    images = tmp_path / "images"
    write_images(images, IMAGES)
    built: list[Services] = []

    def build(settings: Settings) -> Services:
        built.append(fake_build(images)(settings))
        return built[-1]

    overrides = {"watch": str(images), "data_dir": str(tmp_path / "data")}
    app = create_app(load_settings(overrides, environ={}), build)
    with fake_analyzers(), TestClient(app, base_url=BASE_URL) as client:
        wait_for(lambda: client.get("/api/health").status_code == 200)
        wait_for(lambda: client.get("/api/index/status").json()["indexed"] == IMAGES)
        yield Site(client, built[-1])


def test_a_full_model_lane_refuses_only_model_work() -> None:
    async def scenario() -> None:
        lane, reads, gate = WorkLane(capacity=2), ReadPool(threads=2), threading.Event()
        held = [asyncio.ensure_future(lane.run(lambda: gate.wait(30))) for _ in range(2)]
        await asyncio.sleep(0)  # both tasks start and take their place before their first await
        assert lane.in_flight == 2
        with pytest.raises(BusyError):
            await lane.run(lambda: None)
        assert await reads.run(lambda: "read") == "read"  # while the model lane is still full
        gate.set()
        assert await asyncio.gather(*held) == [True, True]
        assert lane.in_flight == 0
        lane.shutdown()
        reads.shutdown()

    asyncio.run(scenario())


def test_searches_are_answered_while_uploads_fill_the_describe_lane(site: Site) -> None:
    client, lane = site.client, site.services.lane
    gate = DescribeGate()
    gate.hold(site.services.describer)  # after indexing: only uploads reach the gate
    uploads: list[int] = []
    senders = [
        threading.Thread(target=lambda seed=seed: uploads.append(site.describe(seed)))
        for seed in range(lane.capacity)
    ]
    for sender in senders:
        sender.start()
    try:
        assert gate.entered.wait(30)
        wait_for(lambda: lane.in_flight == lane.capacity)  # one described, the rest queued

        busy = client.post("/api/describe", files={"image": ("more.png", image_bytes(9))})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
        assert busy.json()["error"].startswith("the describer is busy")

        image_id = client.get("/api/search").json()["hits"][0]["id"]
        reads = [
            "/api/search?q=test+card",
            "/api/search?tag=sky",
            "/api/tags",
            "/api/index/status",
            f"/api/images/{image_id}",
            "/",
            "/?q=test",
            f"/images/{image_id}",
            "/failed",
            "/fragments/status",
        ]
        urls = [reads[i % len(reads)] for i in range(SEARCHES)]
        with ThreadPoolExecutor(SEARCHES) as pool:
            statuses = list(pool.map(lambda url: client.get(url).status_code, urls))
        assert statuses == [200] * SEARCHES
        assert lane.in_flight == lane.capacity and uploads == []  # all answered behind a full lane
    finally:
        gate.open()
        for sender in senders:
            sender.join()
    assert uploads == [200] * lane.capacity


def test_searches_in_parallel_with_each_other_all_get_200(site: Site) -> None:
    """50 at once: the issue measured 45 of them answered 503 when search shared the lane."""
    with ThreadPoolExecutor(50) as pool:
        responses = list(
            pool.map(lambda i: site.client.get("/api/search", params={"q": f"card {i}"}), range(50))
        )
    assert [r.status_code for r in responses] == [200] * 50
    assert all(len(r.json()["hits"]) == IMAGES for r in responses)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/describe", 200),  # the status bar of a page
        ("/images/00000000-0000-0000-0000-000000000000", 404),  # … and of an error page
    ],
)
def test_pages_read_the_index_status_off_the_event_loop(
    site: Site, monkeypatch: pytest.MonkeyPatch, url: str, status: int
) -> None:
    """While a page waits for a slow status read (SQLite, or a Qdrant server over the
    network), the event loop keeps answering other requests."""
    watcher = site.services.watcher
    assert watcher is not None
    real_status, entered, release = watcher.status, threading.Event(), threading.Event()

    def slow_status() -> object:
        entered.set()
        release.wait(30)
        return real_status()

    monkeypatch.setattr(watcher, "status", slow_status)
    page: list[int] = []
    loader = threading.Thread(target=lambda: page.append(site.client.get(url).status_code))
    loader.start()
    try:
        assert entered.wait(30)
        health: list[int] = []
        other = threading.Thread(target=lambda: health.append(site.client.get("/api/health").status_code))
        other.start()
        other.join(timeout=15)  # a bound for the failure case: a blocked loop never answers
        assert health == [200] and page == []  # answered while the page is still waiting
    finally:
        release.set()
        loader.join()
    assert page == [status]
