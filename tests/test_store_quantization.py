"""The embedded store's int8 layout (issue 28): an optimised store searches int8 copies
and rescores on the float vectors, and a store written before that layout opens, keeps
every point and is rewritten in the new one."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qdrant_edge as qe

from app.dev.bench.search import chunk
from catalog.store import edge, edge_layout, edge_optimize, tuning
from catalog.store.base import DENSE, FOCUS, LABELS, SPARSE
from catalog.store.edge import EdgeStore
from catalog.store.server import ServerStore

DIM = 384
N = 600


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    # optimize() indexes a segment only above the threshold: lowered so that 600 points get
    # their graph and int8 copies (the defaults need about 6,500)
    monkeypatch.setattr(tuning, "INDEXING_THRESHOLD_KB", 10)
    monkeypatch.setattr(tuning, "FULL_SCAN_THRESHOLD_KB", 10)


def _quantized_views(path: Path) -> set[str]:
    return {q.parent.name.removeprefix("vector_storage-") for q in path.rglob("quantized.data")}


def _load(store: EdgeStore) -> list:
    points, _ = chunk(0, N, DIM, np.random.default_rng(7))
    store.upsert(points)
    return points


@pytest.mark.usefixtures("small_thresholds")
def test_an_optimised_store_answers_from_int8_copies_as_the_floats_do(tmp_path: Path) -> None:
    with EdgeStore.open(tmp_path / "q", DIM) as store:
        points = _load(store)
        assert store.optimize()
        assert _quantized_views(tmp_path / "q") == {DENSE, FOCUS, LABELS}
        tag = points[0].payload.tags[0]
        for point in points[:20]:
            hits = store.nearest(DENSE, point.dense, limit=20)
            # rescored on the floats: the point itself first, at cosine 1, and every score
            # the one the floats give (int8 alone would be off in the third decimal)
            assert hits[0][0] == point.id
            exact = dict(store.nearest(DENSE, point.dense, limit=20, exact=True))
            shared = [(pid, score) for pid, score in hits if pid in exact]
            assert len(shared) >= 15
            assert all(score == pytest.approx(exact[pid], abs=1e-6) for pid, score in shared)
            tagged = store.nearest(DENSE, point.dense, [tag], 20)
            assert tagged and all(tag in p.tags for p in store.get_many([pid for pid, _ in tagged]).values())
            assert (tagged[0][0] == point.id) == (tag in point.payload.tags)
        sparse = store.nearest(SPARSE, points[0].sparse, limit=5)
        assert points[0].id in {pid for pid, _ in sparse}


def _old_config(dense_size: int, image_size: int | None = None) -> qe.EdgeConfig:
    """What the store was created with before the int8 layout."""
    vectors = {
        DENSE: qe.EdgeVectorParams(size=dense_size, distance=qe.Distance.Cosine),
        FOCUS: qe.EdgeVectorParams(size=dense_size, distance=qe.Distance.Cosine),
        LABELS: qe.EdgeVectorParams(size=dense_size, distance=qe.Distance.Dot),
    }
    return qe.EdgeConfig(
        vectors=vectors, sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)}
    )


@pytest.mark.usefixtures("small_thresholds")
def test_a_store_of_an_earlier_version_opens_with_every_point_and_is_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old"
    with monkeypatch.context() as old:
        old.setattr(edge_layout, "config", _old_config)
        with EdgeStore.open(path, DIM) as store:
            points = _load(store)
            store.optimize()  # as the app left it: a graph on in-RAM floats
        assert "quantization_config" not in json.loads((path / edge.CONFIG_FILE).read_text())
        assert not _quantized_views(path)

    with EdgeStore.open(path, DIM) as store:
        assert "quantization_config" in json.loads((path / edge.CONFIG_FILE).read_text())
        assert _quantized_views(path) == {DENSE, FOCUS, LABELS}  # rewritten on open, once
        assert store.count() == N
        for point in points[::50]:
            assert store.nearest(DENSE, point.dense, limit=1)[0][0] == point.id
            assert store.get(point.id) == point.payload
        assert not edge_layout.unquantized(path)  # the next open leaves it as it is


@pytest.mark.usefixtures("small_thresholds")
def test_search_is_answered_while_the_store_optimises_and_writes_wait_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edge's optimize() holds the GIL throughout, so it runs on a copy in a child process:
    a search made meanwhile is answered, a write made meanwhile lands in the new shard."""
    extra, _ = chunk(N, 1, DIM, np.random.default_rng(8))
    started, searched = threading.Event(), threading.Event()
    real_run = subprocess.run

    def child(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        started.set()
        assert searched.wait(60), "no search was answered while the copy was being optimised"
        return real_run(*args, **kwargs)

    monkeypatch.setattr(edge_optimize.subprocess, "run", child)
    with EdgeStore.open(tmp_path / "s", DIM) as store:
        points = _load(store)
        optimising = threading.Thread(target=store.optimize)
        optimising.start()
        assert started.wait(60)
        writing = threading.Thread(target=store.upsert, args=(extra,))
        writing.start()
        assert store.nearest(DENSE, points[3].dense, limit=1)[0][0] == points[3].id
        searched.set()
        optimising.join()
        writing.join()
        assert _quantized_views(tmp_path / "s") == {DENSE, FOCUS, LABELS}
        assert store.count() == N + 1
        assert store.nearest(DENSE, extra[0].dense, limit=1)[0][0] == extra[0].id
    assert not edge_optimize.work_dir(tmp_path / "s").exists()


def test_a_swap_cut_short_by_a_crash_is_undone_on_open(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with EdgeStore.open(path, DIM) as store:
        points = _load(store)
    # as a crash leaves it half-way through swap_in: the old files aside, some new ones in
    replaced = path.with_name("s.replaced")
    replaced.mkdir()
    (replaced / ".moving-in").touch()
    for entry in list(path.iterdir()):
        if entry.name != edge.LOCK_FILE:
            entry.rename(replaced / entry.name)
    (path / "segments").mkdir()
    with EdgeStore.open(path, DIM) as store:
        assert store.count() == N
        assert store.get(points[0].id) == points[0].payload
    assert not replaced.exists()


def test_a_server_collection_gets_the_int8_layout_when_created_and_when_older(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qdrant_client import QdrantClient, models

    from catalog.store import server

    created = ServerStore.from_client(QdrantClient(":memory:"), "images", 8)
    params = created._client.get_collection("images").config.params
    assert isinstance(params.vectors, dict)
    assert all(params.vectors[name].on_disk for name in (DENSE, FOCUS, LABELS))

    # local mode keeps no quantization config (a server does), so every collection it
    # holds reads as one of an earlier version: the update a server would act on is asked for
    client = QdrantClient(":memory:")
    client.create_collection(
        "images", vectors_config={DENSE: models.VectorParams(size=8, distance=models.Distance.COSINE)}
    )
    asked: list[dict[str, Any]] = []
    monkeypatch.setattr(client, "update_collection", lambda _name, **kwargs: asked.append(kwargs))
    server._ensure_int8(client, "images")
    assert asked and asked[0]["quantization_config"] == server._INT8
    assert asked[0]["vectors_config"] == {DENSE: models.VectorParamsDiff(on_disk=True)}


def _on_disk_mb(path: Path) -> float:
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file()) / 2**20


def test_the_copy_optimize_works_on_keeps_the_shards_holes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EdgeStore.open(tmp_path / "qdrant", 384)
    try:
        store.upsert(chunk(0, 50, 384, np.random.default_rng(0))[0])
    finally:
        store.close()
    seen: list[Path] = []

    def child(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        work = Path(argv[-1])
        seen.append(work)
        # Edge creates its files at full size, mostly holes (here ~250 MB on paper):
        # a plain copy would have written them all out
        assert sum(f.stat().st_size for f in work.rglob("*") if f.is_file()) > 200 * 2**20
        assert _on_disk_mb(work) < 32
        assert not (work / "imgdesc.lock").exists()
        return subprocess.CompletedProcess(argv, 3, "", "")  # "nothing to optimise"

    monkeypatch.setattr(edge_optimize.subprocess, "run", child)
    assert edge_optimize.optimize_copy(tmp_path / "qdrant") is False
    assert seen and not seen[0].exists()  # the copy is dropped when nothing changed


def test_an_optimize_that_fails_costs_speed_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from indexer import service
    from tests.fakes import FakeStore

    store = FakeStore()

    def no_room() -> bool:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "optimize", no_room)
    with caplog.at_level("ERROR", logger="indexer.service"):
        service.optimize_store(store)
    assert "optimising the store failed" in caplog.text
