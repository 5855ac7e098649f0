"""One suite for every store adapter: the embedded Qdrant Edge shard, the server adapter
over qdrant-client's local mode, and a real server when IMGDESC_TEST_QDRANT_URL is set."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from describe.facts import Colour, CompositionFacts, Label, ObjectCount
from indexer.store import (
    DimensionMismatchError,
    Hit,
    ImagePoint,
    SparseVector,
    Store,
    StoredImage,
    StoreInUseError,
    open_store,
    point_id,
)
from indexer.store.edge import EdgeStore

DIM = 8
SERVER_URL = os.environ.get("IMGDESC_TEST_QDRANT_URL")
SERVER_KEY = os.environ.get("IMGDESC_TEST_QDRANT_API_KEY")


def unit(*weights: float) -> list[float]:
    vector = [*weights, *[0.0] * (DIM - len(weights))]
    norm = math.sqrt(sum(w * w for w in vector))
    return [w / norm for w in vector]


def axis(i: int) -> list[float]:
    return [1.0 if j == i else 0.0 for j in range(DIM)]


def image(sha: str, tags: list[str], description: str = "") -> StoredImage:
    return StoredImage(
        sha256=sha,
        paths=[f"photos/{sha}.jpg"],
        filename=f"{sha}.jpg",
        description=description or f"a photo of {sha}",
        alt=f"{sha} alt",
        tags=tags,
        colors=[Colour(name="navy blue", family="blue", hex="#1f2a44", coverage=0.25)],
        objects=[ObjectCount(label="cat", count=2, score=0.875)],
        labels=[Label(name="tabby", score=0.5, category="animal", synonyms=("tabby cat",))],
        text="OPEN",
        composition=CompositionFacts(
            orientation="landscape",
            aspect_ratio=1.5,
            brightness=0.5,
            contrast=0.25,
            saturation=0.125,
            sharpness=310.5,
            blurry=False,
            lighting="balanced",
            subject_position="centre",
            shot="medium",
        ),
        captioner="classic",
        width=640,
        height=427,
        size_bytes=12345,
        timings_ms={"objects": 12.5},
        described_at="2025-01-01T00:00:00Z",
        embedding_model="test-8d",
    )


def point(sha: str, dense: list[float], terms: dict[int, float], tags: list[str]) -> ImagePoint:
    sparse = SparseVector(indices=list(terms), values=list(terms.values()))
    return ImagePoint(id=point_id(sha), dense=dense, sparse=sparse, payload=image(sha, tags))


# Sparse terms: 1 cat, 2 dog, 3 boat, 4 car, 7 "photo" (common to all but the car).
POINTS = {
    "cat": point("cat", axis(0), {1: 1.0, 7: 1.5}, ["animal", "cat", "indoor"]),
    "dog": point("dog", unit(1, 0.2), {2: 1.0, 7: 1.5}, ["animal", "dog"]),
    "boat": point("boat", axis(2), {3: 1.0, 7: 1.5}, ["boat", "outdoor", "vehicle"]),
    "car": point("car", axis(3), {4: 1.0}, ["car", "outdoor", "vehicle"]),
}
NAMES = {p.id: name for name, p in POINTS.items()}
NO_TERMS = SparseVector(indices=[], values=[])


def terms(*indices: int) -> SparseVector:
    return SparseVector(indices=list(indices), values=[1.0] * len(indices))


class Backend:
    """Opens stores on one underlying storage, so a test can close and reopen."""

    def __init__(self, opener: Callable[[int, bool], Store]) -> None:
        self._opener = opener
        self.opened: list[Store] = []

    def open(self, dense_size: int = DIM, recreate: bool = False) -> Store:
        store = self._opener(dense_size, recreate)
        self.opened.append(store)
        return store


@pytest.fixture(params=["edge", "server-local", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    from qdrant_client import QdrantClient

    from indexer.store.server import ServerStore

    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if request.param == "edge":
        backend = Backend(lambda size, recreate: EdgeStore.open(tmp_path / "shard", size, recreate))
    elif request.param == "server-local":
        # path= rather than :memory:, so reopening finds the data
        local = str(tmp_path / "local")
        backend = Backend(
            lambda size, recreate: ServerStore.from_client(QdrantClient(path=local), "images", size, recreate)
        )
    else:
        if not SERVER_URL:
            pytest.skip("set IMGDESC_TEST_QDRANT_URL to run the suite against a real Qdrant server")
        name = f"imgdesc_test_{uuid.uuid4().hex[:12]}"
        backend = Backend(
            lambda size, recreate: ServerStore.connect(SERVER_URL, size, SERVER_KEY, name, recreate)
        )

        def cleanup() -> None:
            admin = QdrantClient(url=SERVER_URL, api_key=SERVER_KEY)
            admin.delete_collection(name)
            admin.close()

    yield backend
    for store in backend.opened:
        store.close()
    cleanup()


@pytest.fixture()
def store(backend: Backend) -> Store:
    store = backend.open()
    store.upsert(list(POINTS.values()))
    return store


def ranked(hits: list[Hit]) -> list[str]:
    return [NAMES[h.id] for h in hits]


def test_get_roundtrips_the_full_payload(store: Store) -> None:
    assert store.get(POINTS["cat"].id) == POINTS["cat"].payload
    assert store.get(point_id("never stored")) is None


def test_upserting_the_same_id_replaces_the_point(store: Store) -> None:
    again = POINTS["cat"]
    changed = image("cat", ["animal"], description="a sleeping cat")
    store.upsert([ImagePoint(id=again.id, dense=again.dense, sparse=again.sparse, payload=changed)])
    assert store.count() == 4
    assert store.get(again.id) == changed


def test_set_paths_updates_paths_and_filename_only(store: Store) -> None:
    cat = POINTS["cat"].id
    store.set_paths(cat, ["b/new name.jpg", "a/old.jpg"])
    got = store.get(cat)
    assert got is not None
    assert (got.paths, got.filename) == (["b/new name.jpg", "a/old.jpg"], "new name.jpg")
    assert got.description == POINTS["cat"].payload.description
    # vectors untouched: still the best dense match for its own vector
    assert ranked(store.query(axis(0), NO_TERMS, min_dense_score=0.5))[0] == "cat"
    with pytest.raises(KeyError):
        store.set_paths(point_id("never stored"), ["x.jpg"])


def test_delete(store: Store) -> None:
    store.delete([POINTS["cat"].id, point_id("never stored")])
    store.delete([])
    assert store.get(POINTS["cat"].id) is None
    assert store.count() == 3
    assert "cat" not in ranked(store.query(axis(0), terms(1), min_dense_score=-1.0))


def test_count_requires_every_tag(store: Store) -> None:
    assert store.count() == 4
    assert store.count(["animal"]) == 2
    assert store.count(["animal", "indoor"]) == 1
    assert store.count(["animal", "vehicle"]) == 0


def test_facets(store: Store) -> None:
    assert store.facets() == [
        ("animal", 2),
        ("outdoor", 2),
        ("vehicle", 2),
        ("boat", 1),
        ("car", 1),
        ("cat", 1),
        ("dog", 1),
        ("indoor", 1),
    ]
    assert store.facets(["vehicle"]) == [("outdoor", 2), ("vehicle", 2), ("boat", 1), ("car", 1)]
    assert store.facets(["vehicle", "boat"]) == [("boat", 1), ("outdoor", 1), ("vehicle", 1)]
    top = store.facets(limit=2)
    assert len(top) == 2 and all(count == 2 for _, count in top)


def test_hybrid_fusion_lifts_points_found_by_both(store: Store) -> None:
    # dense alone ranks cat over dog; "dog" as a term puts dog in both lists
    assert ranked(store.query(axis(0), NO_TERMS, min_dense_score=0.5)) == ["cat", "dog"]
    hits = store.query(axis(0), terms(2), min_dense_score=0.5)
    assert ranked(hits) == ["dog", "cat"]
    assert hits[0].score > hits[1].score
    assert hits[0].payload == POINTS["dog"].payload


def test_relevance_cut_off(store: Store) -> None:
    # boat: no dense similarity but the only point with the term; car: neither, so absent
    assert sorted(ranked(store.query(axis(0), terms(3), min_dense_score=0.5))) == ["boat", "cat", "dog"]
    # without a cut-off every point is a dense candidate
    assert sorted(ranked(store.query(axis(0), NO_TERMS, min_dense_score=-1.0))) == sorted(POINTS)
    assert ranked(store.query(axis(0), terms(3), limit=1, min_dense_score=0.5)) in (["cat"], ["boat"])


def test_idf_makes_rare_terms_count_more(store: Store) -> None:
    # "photo" (7) carries weight 1.5 on three points, "car" (4) 1.0 on one: only IDF ranks car first
    assert ranked(store.query(axis(7), terms(7, 4), min_dense_score=0.5))[0] == "car"


def test_tag_filters_require_every_tag(store: Store) -> None:
    def tagged(*tags: str) -> list[str]:
        return ranked(store.query(axis(0), terms(3), tags=tags, min_dense_score=-1.0))

    assert sorted(tagged("vehicle")) == ["boat", "car"]
    assert tagged("vehicle", "boat") == ["boat"]
    assert tagged("animal", "vehicle") == []


def test_scroll_returns_every_point(store: Store) -> None:
    got = dict(store.scroll(batch=3))
    assert got == {p.id: p.payload for p in POINTS.values()}


def test_reopen_finds_the_data(backend: Backend, store: Store) -> None:
    store.close()
    again = backend.open()
    assert again.count() == 4
    assert again.get(POINTS["boat"].id) == POINTS["boat"].payload
    assert ranked(again.query(axis(0), terms(2), min_dense_score=0.5)) == ["dog", "cat"]


def test_dimension_mismatch(backend: Backend, store: Store) -> None:
    store.close()
    with pytest.raises(DimensionMismatchError, match="holds 8-d vectors but the embedding model gives 16-d"):
        backend.open(dense_size=16)
    fresh = backend.open(dense_size=16, recreate=True)
    assert fresh.count() == 0


def test_edge_store_is_locked_while_open(tmp_path: Path) -> None:
    first = EdgeStore.open(tmp_path, DIM)
    # flock locks belong to an open file description, so a second open here conflicts too
    with pytest.raises(StoreInUseError, match=r"in use by another imgdesc process \(pid \d+\)"):
        EdgeStore.open(tmp_path, DIM)
    probe = (
        "import sys; from pathlib import Path; from indexer.store.edge import EdgeStore\n"
        "from indexer.store import StoreInUseError\n"
        "try: EdgeStore.open(Path(sys.argv[1]), 8)\n"
        "except StoreInUseError as e: print(e); sys.exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert "is `imgdesc serve` running?" in result.stdout
    first.close()
    EdgeStore.open(tmp_path, DIM).close()


def test_edge_writes_survive_a_killed_process(tmp_path: Path) -> None:
    writer = (
        "import os, sys; from pathlib import Path; from indexer.store.edge import EdgeStore\n"
        "from indexer.store import ImagePoint, SparseVector, StoredImage\n"
        "store = EdgeStore.open(Path(sys.argv[1]), 8)\n"
        "image = StoredImage(sha256='x', paths=['x.jpg'], filename='x.jpg', description='x')\n"
        "store.upsert([ImagePoint(sys.argv[2], [1.0] * 8, SparseVector([1], [1.0]), image)])\n"
        "os._exit(9)  # no close, no flush at exit\n"
    )
    run = subprocess.run([sys.executable, "-c", writer, str(tmp_path), point_id("x")], capture_output=True)
    assert run.returncode == 9, run.stderr
    with EdgeStore.open(tmp_path, DIM) as store:
        got = store.get(point_id("x"))
        assert got is not None and got.paths == ["x.jpg"]


def test_open_store_defaults_to_the_embedded_shard(tmp_path: Path) -> None:
    store = open_store(tmp_path, DIM)
    try:
        assert isinstance(store, EdgeStore)
        assert store.path == tmp_path / "qdrant"
    finally:
        store.close()


def test_latest_is_newest_first_with_every_tag(store: Store) -> None:
    from msgspec.structs import replace

    stamps = {"cat": "2026-01-03T10:00:00Z", "dog": "2026-01-01T10:00:00Z", "boat": "2026-01-02T10:00:00Z"}
    store.upsert(
        [replace(POINTS[n], payload=replace(POINTS[n].payload, indexed_at=t)) for n, t in stamps.items()]
    )
    store.upsert(
        [replace(POINTS["car"], payload=replace(POINTS["car"].payload, indexed_at="2025-12-31T10:00:00Z"))]
    )
    assert [NAMES[id] for id, _ in store.latest()] == ["cat", "boat", "dog", "car"]
    assert [NAMES[id] for id, _ in store.latest(limit=2)] == ["cat", "boat"]
    assert [NAMES[id] for id, _ in store.latest(["animal"])] == ["cat", "dog"]
    assert [NAMES[id] for id, _ in store.latest(["outdoor", "vehicle"], limit=1)] == ["boat"]
    assert store.latest(["animal", "vehicle"]) == []
