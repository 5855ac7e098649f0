"""The Ray job (indexer/distributed) on a local Ray: ~20 photos and a corrupt file into
qdrant-client's local mode, with the fake describer; the real classic describer once,
against the local indexer's points for the same files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import numpy as np
import pytest
from PIL import Image
from qdrant_client import QdrantClient

from catalog.store.base import ImagePoint, point_id
from catalog.store.server import CollectionLayout, ServerStore
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.errors import ConfigError
from indexer.distributed.job import RayProgress, Resources, index_to_store, run_ray_index
from indexer.distributed.worker import WorkerSpec
from indexer.service import index_folder
from tests.conftest import encode
from tests.fakes import FakeStore, HashEmbedder
from tests.ray_fakes import FAKE_SETTINGS, CrashOnce, fake_describer, hash_embedder

ray = pytest.importorskip("ray")

FAKE_SPEC = WorkerSpec(describe=FAKE_SETTINGS, make_describer=fake_describer, make_embedder=hash_embedder)
TWO_WORKERS = Resources(workers=2, batch_size=4)
DIM = 16  # HashEmbedder's


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # 4 logical CPUs on 2 cores: two 1-CPU actors must leave room for the other tasks,
    # or the job waits on itself (seen with ray 2.60 and num_cpus=2)
    ray.init(num_cpus=4, object_store_memory=100 * 1024**2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def variants(photo: np.ndarray) -> list[tuple[str, bytes]]:
    """Three distinct files from one photo: the JPEG, a PNG crop, a half-size JPEG."""
    image = Image.fromarray(photo)
    w, h = image.size
    return [
        (".jpg", encode(image, "JPEG", quality=90)),
        ("-crop.png", encode(image.crop((w // 4, h // 4, w * 3 // 4, h * 3 // 4)), "PNG")),
        ("-half.jpg", encode(image.resize((w // 2, h // 2)), "JPEG", quality=85)),
    ]


@pytest.fixture(scope="module")
def gallery(photos: dict[str, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 distinct images (one in a sub-folder twice), a corrupt file and a hidden one."""
    root = tmp_path_factory.mktemp("gallery")
    files = [(name + suffix, data) for name, photo in photos.items() for suffix, data in variants(photo)]
    for rel, data in files[:20]:
        (root / rel).write_bytes(data)
    (root / "copies").mkdir()
    shutil.copy(root / "coffee.jpg", root / "copies" / "coffee.jpg")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10)
    (root / ".hidden.png").write_bytes(files[20][1])
    return root


class CountingStore(ServerStore):
    """The server adapter in local mode, counting the points written to it."""

    upserted = 0

    def upsert(self, points: Sequence[ImagePoint]) -> None:
        self.upserted += len(points)
        super().upsert(points)


def open_local(path: Path) -> CountingStore:
    store = ServerStore.from_client(QdrantClient(path=str(path)), "images", DIM)
    return CountingStore(store._client, store.collection)


def payload_shas(store: ServerStore) -> list[str]:
    return [p.sha256 for _, p in store.scroll()]


@pytest.mark.ray
def test_job_describes_each_content_once_records_the_bad_file_and_resumes(
    local_ray: None, gallery: Path, tmp_path: Path
) -> None:
    store = open_local(tmp_path / "qdrant")
    failures_file = tmp_path / "failures.jsonl"
    seen: list[RayProgress] = []
    try:
        first = index_to_store(gallery, FAKE_SPEC, store, failures_file, TWO_WORKERS, seen.append)

        assert (first.files, first.contents, first.described, first.failed) == (22, 21, 20, 1)
        assert store.count() == 20 == store.upserted
        shas = payload_shas(store)
        assert len(set(shas)) == 20
        assert all(store.get(point_id(sha)) is not None for sha in shas)  # ids derive from content
        copies = store.get(point_id(_sha_of(gallery / "coffee.jpg")))
        assert copies is not None and copies.paths == ["coffee.jpg", "copies/coffee.jpg"]
        [failure] = first.failures
        assert failure.path == "broken.jpg" and "image" in failure.error
        assert [json.loads(line)["path"] for line in failures_file.read_text().splitlines()] == ["broken.jpg"]
        last = seen[-1]
        assert (last.stage, last.done, last.failed, last.total) == ("describing", 21, 1, 21)
        assert last.rate > 0

        # a second run over the same files describes nothing (the bad file is tried again)
        store.upserted = 0
        again = index_to_store(gallery, FAKE_SPEC, store, failures_file, TWO_WORKERS)
        assert (again.described, again.unchanged, again.linked, again.failed) == (0, 20, 0, 1)
        assert store.upserted == 0 and store.count() == 20

        # a grown folder: only the new content is described; a new copy is linked
        (gallery / "grown").mkdir()
        (gallery / "grown" / "new.png").write_bytes(encode(np.full((40, 60, 3), 200, np.uint8)))
        shutil.copy(gallery / "chelsea.jpg", gallery / "grown" / "chelsea.jpg")
        grown = index_to_store(gallery, FAKE_SPEC, store, failures_file, TWO_WORKERS)
        assert (grown.described, grown.linked, grown.unchanged) == (1, 1, 19)
        assert store.upserted == 1 and store.count() == 21
        chelsea = store.get(point_id(_sha_of(gallery / "chelsea.jpg")))
        assert chelsea is not None and chelsea.paths == ["chelsea.jpg", "grown/chelsea.jpg"]
    finally:
        shutil.rmtree(gallery / "grown", ignore_errors=True)
        store.close()


@pytest.mark.ray
def test_a_worker_killed_mid_run_is_retried_without_duplicates(
    local_ray: None, gallery: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "crashed"
    spec = WorkerSpec(describe=FAKE_SETTINGS, make_describer=CrashOnce(marker), make_embedder=hash_embedder)
    store = open_local(tmp_path / "qdrant")
    try:
        result = index_to_store(gallery, spec, store, tmp_path / "failures.jsonl", TWO_WORKERS)
        assert marker.exists()  # a worker did die in its first batch
        assert (result.described, result.failed) == (20, 1)
        assert store.count() == 20
        assert sorted(payload_shas(store)) == sorted(set(payload_shas(store)))
    finally:
        store.close()


def _sha_of(path: Path) -> str:
    from indexer.pipeline import file_sha256

    return file_sha256(path)


@pytest.mark.ray
@pytest.mark.slow
def test_points_are_the_local_indexers_points(
    local_ray: None, photos: dict[str, np.ndarray], tmp_path: Path
) -> None:
    """The real classic describer: the job's points are the local indexer's, field for
    field and vector for vector; only the clocks (timestamps, timings) differ."""
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    for rel, name in (("coffee.jpg", "coffee"), ("sub/chelsea.png", "chelsea"), ("china.jpg", "china")):
        (root / rel).write_bytes(encode(photos[name], "PNG" if rel.endswith(".png") else "JPEG"))
    classic = DescribeSettings(captioner="classic")
    local, distributed = FakeStore(), FakeStore()
    index_folder(root, tmp_path / "data", Describer(classic), HashEmbedder(), local)
    spec = WorkerSpec(describe=classic, make_embedder=hash_embedder)
    result = index_to_store(root, spec, distributed, tmp_path / "failures.jsonl", Resources(batch_size=2))

    assert result.described == 3
    assert sorted(distributed.points) == sorted(local.points)
    for pid, point in local.points.items():
        assert _comparable(distributed.points[pid]) == _comparable(point)


def _comparable(point: ImagePoint) -> dict[str, Any]:
    record: dict[str, Any] = msgspec.to_builtins(point)
    payload = record["payload"]
    for clock in ("described_at", "indexed_at"):
        assert payload.pop(clock)
    payload["timings_ms"] = sorted(payload["timings_ms"])  # which steps ran, not how long
    return record


def test_the_ray_engine_needs_a_qdrant_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--engine ray writes to a Qdrant server: give --qdrant-url"):
        run_ray_index(tmp_path, FAKE_SPEC, qdrant_url=None, dense_size=DIM, failures_file=tmp_path / "f")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing-folder", "missing-folder: not a folder"),
        ("nosuchscheme://x/y", "nosuchscheme://x/y: cannot open"),
    ],
)
def test_a_bad_source_is_one_line(tmp_path: Path, source: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        index_to_store(source, FAKE_SPEC, FakeStore(), tmp_path / "failures.jsonl")
    assert "\n" not in caught.value.message


@pytest.mark.parametrize("flag", ["shards", "replicas"])
def test_shards_and_replicas_must_be_positive(flag: str) -> None:
    with pytest.raises(ConfigError, match=f"--{flag} must be at least 1"):
        run_ray_index(
            ".", FAKE_SPEC, qdrant_url="http://q:6333", dense_size=DIM, failures_file=Path("f"), **{flag: 0}
        )


class RecordingClient(QdrantClient):
    created: ClassVar[dict[str, Any]] = {}

    def create_collection(self, collection_name: str, **kwargs: Any) -> bool:
        RecordingClient.created = kwargs
        return super().create_collection(collection_name, **kwargs)


@pytest.mark.parametrize(
    ("layout", "sent"), [(None, (None, None)), (CollectionLayout(shards=6, replicas=2), (6, 2))]
)
def test_a_new_collection_gets_the_cluster_layout(
    layout: CollectionLayout | None, sent: tuple[int | None, int | None]
) -> None:
    store = ServerStore.from_client(RecordingClient(":memory:"), "images", DIM, layout=layout)
    store.close()
    created: Callable[[str], Any] = RecordingClient.created.get
    assert (created("shard_number"), created("replication_factor")) == sent
