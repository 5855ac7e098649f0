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
import qdrant_edge as qe
from qdrant_client import QdrantClient, models

from catalog.store import (
    DENSE,
    FOCUS,
    LABELS,
    SPARSE,
    DimensionMismatchError,
    ImagePoint,
    SchemaChangedError,
    SparseVector,
    Store,
    StoredImage,
    StoreInUseError,
    open_store,
    point_id,
)
from catalog.store.edge import EdgeStore
from describe.facts import Colour, CompositionFacts, Label, ObjectCount

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


def point(
    sha: str,
    dense: list[float],
    terms: dict[int, float],
    tags: list[str],
    focus: list[float] | None = None,
    labels: list[float] | None = None,
) -> ImagePoint:
    sparse = SparseVector(indices=list(terms), values=list(terms.values()))
    return ImagePoint(
        id=point_id(sha), dense=dense, sparse=sparse, payload=image(sha, tags), focus=focus, labels=labels
    )


# Sparse terms: 1 cat, 2 dog, 3 boat, 4 car, 7 "photo" (common to all but the car).
# FOCUS points elsewhere than DENSE (cat: axis 1), so a test sees which view answered;
# LABELS differ only in length on cat and dog (2 and 1), which only a dot product tells
# apart. The boat has no LABELS vector, the car neither FOCUS nor LABELS.
POINTS = {
    "cat": point("cat", axis(0), {1: 1.0, 7: 1.5}, ["animal", "cat", "indoor"], axis(1), [2.0, *[0.0] * 7]),
    "dog": point("dog", unit(1, 0.2), {2: 1.0, 7: 1.5}, ["animal", "dog"], axis(4), axis(0)),
    "boat": point("boat", axis(2), {3: 1.0, 7: 1.5}, ["boat", "outdoor", "vehicle"], axis(2)),
    "car": point("car", axis(3), {4: 1.0}, ["car", "outdoor", "vehicle"]),
}
NAMES = {p.id: name for name, p in POINTS.items()}
NO_TERMS = SparseVector(indices=[], values=[])


def terms(*indices: int) -> SparseVector:
    return SparseVector(indices=list(indices), values=[1.0] * len(indices))


class Backend:
    """Opens stores on one underlying storage, so a test can close and reopen.
    `make_old` creates there, by hand, a store as the previous imgdesc did: only the
    dense and sparse vectors, holding one point."""

    def __init__(self, opener: Callable[[int, bool], Store], make_old: Callable[[], None]) -> None:
        self._opener = opener
        self.make_old = make_old
        self.opened: list[Store] = []

    def open(self, dense_size: int = DIM, recreate: bool = False) -> Store:
        store = self._opener(dense_size, recreate)
        self.opened.append(store)
        return store


@pytest.fixture(params=["edge", "server-local", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    from catalog.store.server import ServerStore

    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if request.param == "edge":
        shard = tmp_path / "shard"
        backend = Backend(
            lambda size, recreate: EdgeStore.open(shard, size, recreate), lambda: _old_edge_shard(shard)
        )
    elif request.param == "server-local":
        # path= rather than :memory:, so reopening finds the data
        local = str(tmp_path / "local")
        backend = Backend(
            lambda size, recreate: ServerStore.from_client(
                QdrantClient(path=local), "images", size, recreate
            ),
            lambda: _old_collection(QdrantClient(path=local), "images"),
        )
    else:
        if not SERVER_URL:
            pytest.skip("set IMGDESC_TEST_QDRANT_URL to run the suite against a real Qdrant server")
        name = f"imgdesc_test_{uuid.uuid4().hex[:12]}"
        backend = Backend(
            lambda size, recreate: ServerStore.connect(SERVER_URL, size, SERVER_KEY, name, recreate),
            lambda: _old_collection(QdrantClient(url=SERVER_URL, api_key=SERVER_KEY), name),
        )

        def cleanup() -> None:
            admin = QdrantClient(url=SERVER_URL, api_key=SERVER_KEY)
            admin.delete_collection(name)
            admin.close()

    yield backend
    for store in backend.opened:
        store.close()
    cleanup()


OLD_POINT = POINTS["cat"]


def _old_edge_shard(path: Path) -> None:
    config = qe.EdgeConfig(
        vectors={DENSE: qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine)},
        sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
    )
    shard = qe.EdgeShard.create(str(path), config)
    vectors: dict[str, qe.NamedVector] = {
        DENSE: OLD_POINT.dense,
        SPARSE: qe.SparseVector(OLD_POINT.sparse.indices, OLD_POINT.sparse.values),
    }
    shard.update(qe.UpdateOperation.upsert_points([qe.Point(OLD_POINT.id, vectors, {"sha256": "cat"})]))
    shard.flush()
    shard.close()


def _old_collection(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name,
        vectors_config={DENSE: models.VectorParams(size=DIM, distance=models.Distance.COSINE)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    sparse = models.SparseVector(indices=OLD_POINT.sparse.indices, values=OLD_POINT.sparse.values)
    vectors: dict[str, models.Vector] = {DENSE: OLD_POINT.dense, SPARSE: sparse}
    client.upsert(name, [models.PointStruct(id=OLD_POINT.id, vector=vectors, payload={"sha256": "cat"})])
    client.close()


@pytest.fixture()
def store(backend: Backend) -> Store:
    store = backend.open()
    store.upsert(list(POINTS.values()))
    return store


def ranked(hits: list[tuple[str, float]]) -> list[str]:
    return [NAMES[id] for id, _ in hits]


def scores(hits: list[tuple[str, float]]) -> dict[str, float]:
    return {NAMES[id]: score for id, score in hits}


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
    # vectors untouched: still the best match for its own vectors in every view
    assert ranked(store.nearest(DENSE, axis(0)))[0] == "cat"
    assert ranked(store.nearest(FOCUS, axis(1)))[0] == "cat"
    assert ranked(store.nearest(LABELS, axis(0)))[0] == "cat"
    with pytest.raises(KeyError):
        store.set_paths(point_id("never stored"), ["x.jpg"])


def test_delete(store: Store) -> None:
    store.delete([POINTS["cat"].id, point_id("never stored")])
    store.delete([])
    assert store.get(POINTS["cat"].id) is None
    assert store.count() == 3
    assert "cat" not in ranked(store.nearest(DENSE, axis(0)))
    assert store.nearest(SPARSE, terms(1)) == []
    assert store.get_many([POINTS["cat"].id]) == {}


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


def test_dense_is_cosine_over_every_point(store: Store) -> None:
    hits = store.nearest(DENSE, [3.0, *[0.0] * 7])  # the query's length does not matter
    assert ranked(hits)[:2] == ["cat", "dog"]
    assert sorted(ranked(hits)) == sorted(POINTS)  # the car, without other views, is here
    got = scores(hits)
    assert got["cat"] == pytest.approx(1.0, abs=1e-5)
    assert got["dog"] == pytest.approx(1 / math.sqrt(1.04), abs=1e-5)
    assert got["boat"] == pytest.approx(0.0, abs=1e-5)


def test_focus_is_its_own_view(store: Store) -> None:
    # axis 1 is the cat's FOCUS, while in DENSE only the dog leans that way
    assert ranked(store.nearest(DENSE, axis(1)))[0] == "dog"
    hits = store.nearest(FOCUS, [0.0, 0.5, *[0.0] * 6])
    assert ranked(hits)[0] == "cat"
    assert scores(hits)["cat"] == pytest.approx(1.0, abs=1e-5)
    assert sorted(ranked(hits)) == ["boat", "cat", "dog"]  # the car has no FOCUS vector


def test_labels_is_a_dot_product(store: Store) -> None:
    # both point along axis 0 (equal under cosine); the cat's vector is twice as long
    hits = store.nearest(LABELS, axis(0))
    assert ranked(hits) == ["cat", "dog"]  # boat and car have no LABELS vector
    assert [score for _, score in hits] == pytest.approx([2.0, 1.0], abs=1e-5)
    # nor is the query normalised
    assert [score for _, score in store.nearest(LABELS, [0.5, *[0.0] * 7])] == pytest.approx([1.0, 0.5])


def test_sparse_needs_a_shared_term_and_weighs_rare_ones_more(store: Store) -> None:
    assert ranked(store.nearest(SPARSE, terms(2))) == ["dog"]
    assert sorted(ranked(store.nearest(SPARSE, terms(7)))) == ["boat", "cat", "dog"]
    # "photo" (7) carries weight 1.5 on three points, "car" (4) 1.0 on one: only IDF ranks car first
    hits = store.nearest(SPARSE, terms(7, 4))
    assert ranked(hits)[0] == "car"
    assert all(score > 0 for _, score in hits)
    assert store.nearest(SPARSE, NO_TERMS) == []


def test_nearest_honours_the_limit(store: Store) -> None:
    assert ranked(store.nearest(DENSE, axis(0), limit=1)) == ["cat"]
    assert ranked(store.nearest(DENSE, axis(0), limit=2)) == ["cat", "dog"]
    assert len(store.nearest(SPARSE, terms(7), limit=2)) == 2


def test_views_asked_at_once_answer_as_each_asked_alone(store: Store) -> None:
    queries: list[tuple[str, list[float] | SparseVector]] = [
        (DENSE, axis(0)),
        (SPARSE, NO_TERMS),  # nothing lexical to match: an empty answer in its place
        (FOCUS, axis(1)),
        (LABELS, axis(0)),
        (SPARSE, terms(7, 4)),
    ]
    for tags, not_tags in [((), ()), (("vehicle",), ()), ((), ("boat",))]:
        together = store.nearest_views(queries, tags, 2, not_tags=not_tags)
        alone = [store.nearest(using, vector, tags, 2, not_tags=not_tags) for using, vector in queries]
        assert together == alone
        assert together[1] == []
    assert store.nearest_views([]) == []


def test_tag_filters_require_every_tag_in_every_view(store: Store) -> None:
    def tagged(using: str, vector: list[float] | SparseVector, *tags: str) -> list[str]:
        return sorted(ranked(store.nearest(using, vector, tags=tags)))

    assert tagged(DENSE, axis(0), "vehicle") == ["boat", "car"]
    assert tagged(DENSE, axis(0), "vehicle", "boat") == ["boat"]
    assert tagged(DENSE, axis(0), "animal", "vehicle") == []
    assert tagged(FOCUS, axis(1), "outdoor") == ["boat"]
    assert tagged(LABELS, axis(0), "dog") == ["dog"]
    assert tagged(SPARSE, terms(7, 4), "outdoor") == ["boat", "car"]


def test_get_many_leaves_unknown_ids_out(store: Store) -> None:
    cat, boat = POINTS["cat"], POINTS["boat"]
    got = store.get_many([cat.id, point_id("never stored"), boat.id])
    assert got == {cat.id: cat.payload, boat.id: boat.payload}
    assert store.get_many([]) == {}


def test_scroll_returns_every_point(store: Store) -> None:
    got = dict(store.scroll(batch=3))
    assert got == {p.id: p.payload for p in POINTS.values()}


def test_scroll_filters_by_tags_in_the_store(store: Store) -> None:
    """An export of one tag reads only the images carrying it, not the whole catalog."""
    want = {name for name, p in POINTS.items() if "outdoor" in p.payload.tags}
    got = {p.filename.split(".")[0] for _, p in store.scroll(batch=1, tags=["outdoor"])}
    assert got == want and 0 < len(want) < len(POINTS)
    assert list(store.scroll(tags=["outdoor", "no such tag"])) == []


def test_reopen_finds_the_data(backend: Backend, store: Store) -> None:
    store.close()
    again = backend.open()
    assert again.count() == 4
    assert again.get(POINTS["boat"].id) == POINTS["boat"].payload
    assert ranked(again.nearest(DENSE, axis(0)))[:2] == ["cat", "dog"]
    assert ranked(again.nearest(FOCUS, axis(1)))[0] == "cat"
    assert ranked(again.nearest(LABELS, axis(0))) == ["cat", "dog"]
    assert ranked(again.nearest(SPARSE, terms(2))) == ["dog"]


def test_dimension_mismatch(backend: Backend, store: Store) -> None:
    store.close()
    with pytest.raises(DimensionMismatchError, match="holds 8-d vectors but the embedding model gives 16-d"):
        backend.open(dense_size=16)
    fresh = backend.open(dense_size=16, recreate=True)
    assert fresh.count() == 0


def test_a_store_without_the_new_views_must_be_rebuilt(backend: Backend) -> None:
    backend.make_old()
    with pytest.raises(SchemaChangedError, match="has no 'focus', 'labels' vectors") as raised:
        backend.open()
    assert raised.value.status_code == 409
    fresh = backend.open(recreate=True)
    assert fresh.count() == 0
    fresh.upsert(list(POINTS.values()))
    assert ranked(fresh.nearest(LABELS, axis(0))) == ["cat", "dog"]


def test_the_catalog_rebuilds_an_old_store_but_a_search_never_does(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from catalog.factory import Models, open_store
    from catalog.settings import CatalogSettings
    from describe.describer import Describer
    from tests.fakes import HashEmbedder

    settings = CatalogSettings(data_dir=str(tmp_path))
    models = Models(Describer(settings.describe), HashEmbedder(dim=DIM), None)
    _old_edge_shard(tmp_path / "qdrant")
    with caplog.at_level("WARNING", logger="catalog.factory"):
        store = open_store(settings, models)
    try:
        assert "made by an older imgdesc without the focus/labels vectors" in caplog.text
        assert store.count() == 0  # the old point is gone: the indexer describes it again
        store.upsert([POINTS["cat"]])
        assert ranked(store.nearest(FOCUS, axis(1))) == ["cat"]
    finally:
        store.close()
    with pytest.raises(DimensionMismatchError):  # a search opens it as it is, or not at all
        open_store(settings, Models(models.describer, HashEmbedder(dim=DIM + 1), None), rebuild=False)
    reopened = open_store(settings, models, rebuild=False)
    try:
        assert reopened.count() == 1
    finally:
        reopened.close()


def test_edge_store_is_locked_while_open(tmp_path: Path) -> None:
    first = EdgeStore.open(tmp_path, DIM)
    # flock locks belong to an open file description, so a second open here conflicts too
    with pytest.raises(StoreInUseError, match=r"in use by another imgdesc process \(pid \d+\)"):
        EdgeStore.open(tmp_path, DIM)
    probe = (
        "import sys; from pathlib import Path; from catalog.store.edge import EdgeStore\n"
        "from catalog.store import StoreInUseError\n"
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
        "import os, sys; from pathlib import Path; from catalog.store.edge import EdgeStore\n"
        "from catalog.store import ImagePoint, SparseVector, StoredImage\n"
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


def test_vectors_gives_back_every_view_a_point_holds(store: Store) -> None:
    """What more like this searches with (search/similar.py): each named vector as stored."""
    cat = store.vectors(POINTS["cat"].id)
    assert set(cat) == {DENSE, FOCUS, LABELS, SPARSE}
    assert cat[DENSE] == pytest.approx(axis(0)) and cat[FOCUS] == pytest.approx(axis(1))
    assert cat[LABELS] == pytest.approx([2.0, *[0.0] * 7])  # a dot-product view keeps its length
    assert cat[SPARSE] == SparseVector(indices=[1, 7], values=[1.0, 1.5])
    assert set(store.vectors(POINTS["car"].id)) == {DENSE, SPARSE}  # no focus, no labels
    assert store.vectors(point_id("never stored")) == {}
