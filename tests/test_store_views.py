"""How the stores search each view and which payload fields they index (issue 28): only
the main views (dense, image) are rescored on the float vectors, focus and labels are
ranked on their int8 copies; only the fields queries filter, count or order on are
indexed, and a store of an earlier version loses the other indexes when it opens."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import numpy as np
import pytest
import qdrant_edge as qe

from app.dev.bench.search import chunk
from catalog.store import server, tuning
from catalog.store.base import DENSE, FOCUS, IMAGE, LABELS, ORDER_FIELD, SPARSE
from catalog.store.edge import EdgeStore

DIM = 384
IMAGE_DIM = 16
N = 600


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    # optimize() indexes a segment only above the threshold: lowered so that 600 points get
    # their graph and int8 copies (the defaults need about 6,500)
    monkeypatch.setattr(tuning, "INDEXING_THRESHOLD_KB", 10)
    monkeypatch.setattr(tuning, "FULL_SCAN_THRESHOLD_KB", 10)


@pytest.mark.usefixtures("small_thresholds")
def test_the_main_views_are_rescored_on_the_floats_and_focus_and_labels_are_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    with EdgeStore.open(tmp_path / "q", DIM, image_size=IMAGE_DIM) as store:
        points, _ = chunk(0, N, DIM, rng)
        store.upsert(points)
        images = rng.standard_normal((N, IMAGE_DIM)).astype(np.float32)
        images /= np.linalg.norm(images, axis=1, keepdims=True)
        store.set_image_vectors([(p.id, v.tolist()) for p, v in zip(points, images, strict=True)], "m")
        assert store.optimize()
        assert {q.parent.name for q in (tmp_path / "q").rglob("quantized.data")} == {
            f"vector_storage-{v}" for v in (DENSE, FOCUS, LABELS, IMAGE)
        }
        deviation = dict.fromkeys((DENSE, FOCUS, LABELS, IMAGE), 0.0)
        for i in range(0, N, 30):
            p = points[i]
            asked: dict[str, list[float]] = {
                DENSE: p.dense,
                FOCUS: p.focus or [],
                LABELS: p.labels or [],
                IMAGE: images[i].tolist(),
            }
            found = store.nearest_views(list(asked.items()), limit=20)
            for (view, vector), hits in zip(asked.items(), found, strict=True):
                exact = dict(store.nearest(view, vector, limit=20, exact=True))
                shared = [(pid, score) for pid, score in hits if pid in exact]
                # the same candidates as comparing every float vector, whether rescored or not
                assert len(shared) >= 17, view
                if view != LABELS:  # dot product: a longer vector may beat the point's own
                    assert hits[0][0] == p.id, view
                for pid, score in shared:
                    assert score == pytest.approx(exact[pid], abs=0.02), view
                    deviation[view] = max(deviation[view], abs(score - exact[pid]))
        # rescored: every score the floats give; int8 alone is off in the third decimal
        assert deviation[DENSE] < 1e-5 and deviation[IMAGE] < 1e-5
        assert deviation[FOCUS] > 1e-4 and deviation[LABELS] > 1e-4


def test_a_server_is_asked_to_rescore_the_main_views_only() -> None:
    from qdrant_client import QdrantClient

    store = server.ServerStore.from_client(QdrantClient(":memory:"), "images", 8)
    sent: list[Any] = []

    def answer(_collection: str, requests: list[Any]) -> list[Any]:
        sent.extend(requests)
        return [SimpleNamespace(points=[]) for _ in requests]

    store._client.query_batch_points = answer  # type: ignore[method-assign]
    vector = [0.1] * 8
    store.nearest_views([(DENSE, vector), (FOCUS, vector), (LABELS, vector), (IMAGE, vector)])
    rescored = {r.using: r.params.quantization.rescore for r in sent}
    assert rescored == {DENSE: True, FOCUS: False, LABELS: False, IMAGE: True}
    assert all(r.params.hnsw_ef == tuning.HNSW_EF for r in sent)


def _index_folders(path: Path) -> set[str]:
    # Edge names a field's index folder <hash>-<first 8 letters of the field>-<kind>
    return {d.name.split("-")[1] for d in path.rglob("payload_index/*") if d.is_dir() and "-" in d.name}


def test_only_the_fields_queries_use_are_indexed_and_older_indexes_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with EdgeStore.open(path, DIM) as store:
        points, _ = chunk(0, 50, DIM, np.random.default_rng(3))
        for i, point in enumerate(points):  # latest() orders by it
            point.payload = msgspec.structs.replace(point.payload, indexed_at=f"2026-01-01T00:00:{i:02d}Z")
        store.upsert(points)
        # as a store of an earlier version has them: every keyword field and the text ones
        for field in ("paths", "sha256", "captioner"):
            store._shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
        params = qe.TextIndexParams(tokenizer=qe.TokenizerType.Word, lowercase=True)
        store._shard.update(qe.UpdateOperation.create_field_index("description", params))
        store._shard.flush()
        assert {"paths", "sha256", "captione", "descript"} <= _index_folders(path)
    with EdgeStore.open(path, DIM) as store:
        assert set(store._shard.info().payload_schema) == {"tags", ORDER_FIELD}
        assert _index_folders(path) == {"tags", ORDER_FIELD[:8]}
        # what the indexes are there for still works
        tag = points[0].payload.tags[0]
        tagged = {pid for pid, _ in store.nearest(SPARSE, points[0].sparse, [tag], 50)}
        terms = set(points[0].sparse.indices)
        assert tagged == {p.id for p in points if tag in p.payload.tags and terms & set(p.sparse.indices)}
        assert dict(store.facets())[tag] == sum(tag in p.payload.tags for p in points)
        assert [pid for pid, _ in store.latest(limit=3)] == [p.id for p in points[:-4:-1]]


class _Collections:
    """The part of a qdrant-client a collection's payload indexes are set up through
    (local mode keeps no payload schema, so it cannot show what a server is asked)."""

    def __init__(self, have: set[str]) -> None:
        self.have = have
        self.calls: list[tuple[str, str]] = []

    def get_collection(self, _name: str) -> Any:
        return SimpleNamespace(payload_schema={field: object() for field in self.have})

    def create_payload_index(self, _name: str, field: str, *_: Any, **__: Any) -> None:
        self.calls.append(("create", field))

    def delete_payload_index(self, _name: str, field: str, **__: Any) -> None:
        self.calls.append(("delete", field))


def test_a_server_collection_gets_the_same_indexes_and_loses_older_ones() -> None:
    older = _Collections({"tags", "paths", "sha256", "description", "text"})
    server._ensure_payload_indexes(older, "images")  # type: ignore[arg-type]
    assert sorted(older.calls) == [
        ("create", ORDER_FIELD),
        ("delete", "description"),
        ("delete", "paths"),
        ("delete", "sha256"),
        ("delete", "text"),
    ]
    new = _Collections(set())
    server._ensure_payload_indexes(new, "images")  # type: ignore[arg-type]
    assert sorted(new.calls) == [("create", ORDER_FIELD), ("create", "tags")]
