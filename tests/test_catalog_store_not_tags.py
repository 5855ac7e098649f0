"""`not_tags` on the store's reads: Qdrant's must_not on the tags, in the embedded shard,
the server adapter (qdrant-client's local mode) and the tests' FakeStore alike, so that a
search's exclusions cost it no candidates."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from catalog.store.base import DENSE, SPARSE, ImagePoint, SparseVector, Store, StoredImage, point_id
from catalog.store.edge import EdgeStore
from catalog.store.server import ServerStore
from tests.fakes import FakeStore

DIM = 4
IMAGES = {
    # name: (tags, indexed_at day)
    "cat": (["animal", "cat", "indoor"], 1),
    "dog": (["animal", "dog"], 2),
    "boat": (["boat", "outdoor"], 3),
    "tabby": (["animal", "cat"], 4),
}


def point(name: str, tags: list[str], day: int) -> ImagePoint:
    angle = day / 10
    dense = [math.cos(angle), math.sin(angle), 0.0, 0.0]
    payload = StoredImage(sha256=name, paths=[f"{name}.jpg"], filename=f"{name}.jpg", description=name,
                          tags=tags, indexed_at=f"2026-01-0{day}T00:00:00Z")  # fmt: skip
    return ImagePoint(id=point_id(name), dense=dense, sparse=SparseVector([7], [1.0]), payload=payload)


NAMES = {point_id(name): name for name in IMAGES}


@pytest.fixture(params=["edge", "server-local", "fake"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store
    if request.param == "edge":
        opened = EdgeStore.open(tmp_path / "shard", DIM)
    elif request.param == "server-local":
        opened = ServerStore.from_client(QdrantClient(path=str(tmp_path / "local")), "images", DIM)
    else:
        opened = FakeStore()
    opened.upsert([point(name, tags, day) for name, (tags, day) in IMAGES.items()])
    try:
        yield opened
    finally:
        opened.close()


def names(found: list[tuple[str, float]] | list[tuple[str, StoredImage]]) -> set[str]:
    return {NAMES[pid] for pid, _ in found}


def test_nearest_leaves_out_every_point_carrying_a_not_tag(store: Store) -> None:
    query = [1.0, 0.0, 0.0, 0.0]
    assert names(store.nearest(DENSE, query, limit=10)) == set(IMAGES)
    assert names(store.nearest(DENSE, query, limit=10, not_tags=["cat"])) == {"dog", "boat"}
    assert names(store.nearest(DENSE, query, ["animal"], 10, not_tags=["cat"])) == {"dog"}
    assert names(store.nearest(DENSE, query, limit=10, not_tags=["cat", "boat"])) == {"dog"}
    assert names(store.nearest(SPARSE, SparseVector([7], [1.0]), limit=10, not_tags=["animal"])) == {"boat"}
    # the limit counts what is left: a page still fills
    assert len(store.nearest(DENSE, query, limit=2, not_tags=["boat"])) == 2


def test_facets_count_and_latest_leave_them_out_too(store: Store) -> None:
    assert dict(store.facets(not_tags=["cat"])) == {"animal": 1, "dog": 1, "boat": 1, "outdoor": 1}
    assert dict(store.facets(["animal"], not_tags=["dog"])) == {"animal": 2, "cat": 2, "indoor": 1}
    assert store.count(not_tags=["cat"]) == 2 and store.count(["animal"], not_tags=["cat"]) == 1
    assert [NAMES[pid] for pid, _ in store.latest(limit=10, not_tags=["cat"])] == ["boat", "dog"]
    assert [NAMES[pid] for pid, _ in store.latest(["animal"], 1, not_tags=["dog"])] == ["tabby"]
    assert store.count(not_tags=["no-such-tag"]) == len(IMAGES)
