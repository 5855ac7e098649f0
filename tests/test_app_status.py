"""One typed index status (issue 10, item 4): the watcher and the store-only null
object answer the same IndexStatus; REST sends it in the JSON shape the README
documents, and the OpenAPI document describes it."""

from __future__ import annotations

from pathlib import Path

import msgspec

from catalog.store.base import ImagePoint, SparseVector, StoredImage, point_id
from indexer.status import IndexStatus, StoreOnlyStatus
from tests.fake_app import fake_site, wait_for
from tests.fakes import FakeStore, fake_analyzers, write_images

COUNTS = {"indexed", "images", "pending", "failed", "failures", "watching"}


def stored(store: FakeStore, n: int) -> None:
    for i in range(n):
        sha = f"{i:064x}"
        payload = StoredImage(sha256=sha, paths=[f"{i}.png"], filename=f"{i}.png", description="a card")
        store.upsert([ImagePoint(point_id(sha), [0.0] * 16, SparseVector([], []), payload)])


def test_without_a_watched_folder_the_store_is_counted() -> None:
    store = FakeStore()
    stored(store, 3)
    status = StoreOnlyStatus(store).status()
    assert status == IndexStatus(indexed=3, images=3, pending=0, failed=0, failures=[], watching=None)
    # the JSON the REST API has always sent without a watcher: no `ready`
    assert msgspec.to_builtins(status) == {
        "indexed": 3, "images": 3, "pending": 0, "failed": 0, "failures": [], "watching": None,
    }  # fmt: skip


def test_rest_status_without_a_watcher(tmp_path: Path) -> None:
    with fake_analyzers(), fake_site(tmp_path) as client:
        body = client.get("/api/index/status").json()
    assert body == {"indexed": 0, "images": 0, "pending": 0, "failed": 0, "failures": [], "watching": None}


def test_rest_status_with_a_watcher_lists_failures(tmp_path: Path) -> None:
    images = tmp_path / "images"
    write_images(images, 2)
    (images / "notes.png").write_text("not an image")
    with fake_analyzers(), fake_site(tmp_path, images) as client:
        wait_for(lambda: client.get("/api/index/status").json()["failed"] == 1)
        wait_for(lambda: client.get("/api/index/status").json()["indexed"] == 2)
        body = client.get("/api/index/status").json()
        page = client.get("/failed")
    assert set(body) == COUNTS | {"ready"} and body["watching"] == str(images.resolve())
    assert (body["images"], body["pending"], body["ready"]) == (2, 0, True)
    [failure] = body["failures"]
    assert set(failure) == {"path", "error", "updated_at"} and failure["path"] == "notes.png"
    assert page.status_code == 200 and "notes.png" in page.text and failure["error"] in page.text


def test_openapi_documents_the_status(tmp_path: Path) -> None:
    with fake_analyzers(), fake_site(tmp_path) as client:
        doc = client.get("/api/docs/openapi.json").json()
    answer = doc["paths"]["/api/index/status"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = doc["components"]["schemas"][ref]
    assert set(schema["properties"]) == COUNTS | {"ready", "disk_full", "repair"}
    assert set(schema["required"]) == COUNTS  # the others come only from a watcher, when they apply
    failures = schema["properties"]["failures"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(doc["components"]["schemas"][failures]["properties"]) == {"path", "error", "updated_at"}


def test_a_full_disk_and_a_repair_show_in_health_status_and_the_banner(tmp_path: Path) -> None:
    """What a paused or rebuilding catalog tells its users; search answers meanwhile."""
    from catalog.space import DiskState
    from indexer.status import Repair

    images = tmp_path / "images"
    write_images(images, 1)
    with fake_analyzers(), fake_site(tmp_path, images) as client:
        wait_for(lambda: client.get("/api/index/status").json()["indexed"] == 1)
        watcher = client.app.state["runtime"].services.watcher
        watcher.disk_full = DiskState(str(tmp_path / "data"), 3 * 2**20, 80 * 2**20, "2026-12-07T20:00:00Z")
        health = client.get("/api/health").json()
        status = client.get("/api/index/status").json()
        page = client.get("/")
        search = client.get("/api/search", params={"q": "test card"})
        assert health["status"] == "disk_full" and health["disk"]["free_bytes"] == 3 * 2**20
        assert status["disk_full"]["path"] == str(tmp_path / "data")
        assert "Disk full" in page.text and "3.0 MB free" in page.text
        assert search.status_code == 200 and search.json()["hits"]
        watcher.disk_full = None
        watcher.repair = Repair("payloads unreadable", str(tmp_path / "data/qdrant.damaged-x"), "t", 5)
        watcher.enqueue("img000.png")  # the rebuild is under way: something is queued
        health = client.get("/api/health").json()
        assert health["status"] == "repairing" and health["repair"]["expected"] == 5
        assert "Rebuilding the store" in client.get("/").text
        wait_for(lambda: client.get("/api/health").json()["status"] == "ok")  # done once the queue is empty
