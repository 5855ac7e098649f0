"""The indexer pipeline and reconcile, run in-process on a real Describer with fake
analyzers, a hash embedder and an in-memory store."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from fakes import (
    CALLS,
    FAKE_USE,
    FakeStore,
    HashEmbedder,
    described,
    fake_analyzers,
    image_bytes,
    make_describer,
    write_images,
)
from PIL import Image

from catalog.names import on_disk
from catalog.points import document_text, focus_text
from catalog.store.base import ImagePoint, point_id
from catalog.thumbs import THUMB_SIDE, thumbnail_path
from describe import registry
from describe.analyzers.base import BaseAnalyzer
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.facts import Caption, Facts
from describe.intake import PreparedImage
from indexer.batch import index_file
from indexer.pipeline import Indexer, file_sha256
from indexer.reconcile import CRASH_BACKOFF_BASE, CRASH_BACKOFF_MAX, crash_backoff, reconcile
from indexer.state import FAILED, INDEXED
from indexer.watch import run_once


@pytest.fixture(autouse=True)
def _fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


@dataclass
class Env:
    root: Path
    data: Path
    store: FakeStore
    indexer: Indexer

    def reopen(self, embedder: HashEmbedder | None = None, store: FakeStore | None = None) -> Indexer:
        """A fresh Indexer on the same folders, as after a restart."""
        self.indexer.close()
        self.store = store or self.store
        self.indexer = Indexer(self.root, self.data, make_describer(), embedder or HashEmbedder(), self.store)
        return self.indexer

    def run(self) -> dict[str, int]:
        return run_once(self.indexer)

    def point(self, rel: str) -> str:
        return point_id(file_sha256(self.root / rel))

    def paths(self) -> dict[str, list[str]]:
        """sha256 → paths, for every point in the store."""
        return {p.payload.sha256: sorted(p.payload.paths) for p in self.store.points.values()}


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[Env]:
    CALLS.clear()
    root, data = tmp_path / "root", tmp_path / "data"
    root.mkdir()
    store = FakeStore()
    e = Env(root, data, store, Indexer(root, data, make_describer(), HashEmbedder(), store))
    yield e
    e.indexer.close()


def test_add_stores_full_record_and_thumbnail(env: Env) -> None:
    rels = write_images(env.root, 3) + write_images(env.root, 1, start=10, sub="trip/day one")
    summary = env.run()
    assert summary["described"] == 4 and described() == 4
    assert env.store.count() == 4
    record = env.store.get(env.point("trip/day one/img010.png"))
    assert record is not None
    assert record.paths == ["trip/day one/img010.png"] and record.filename == "img010.png"
    assert record.description.startswith("A test card in shade #")
    assert record.alt and len(record.alt) <= 125
    assert record.tags and record.colors and record.composition is not None
    assert record.captioner == "fake-caption" and record.profile == "default"
    assert (record.width, record.height) == (64, 48)
    assert record.size_bytes == (env.root / rels[-1]).stat().st_size
    assert record.embedding_model == "fake-embed" and record.describer_version
    assert record.described_at.endswith("Z") and "decode" in record.timings_ms
    thumb = thumbnail_path(env.data, env.point(rels[0]))
    with Image.open(thumb) as im:
        assert im.format == "WEBP" and max(im.size) <= THUMB_SIDE
    status = env.indexer.status()
    assert (status.indexed, status.pending, status.failed) == (4, 0, 0)
    assert status.watching == str(env.root.resolve())


def test_unchanged_files_are_not_described_again(env: Env) -> None:
    write_images(env.root, 3)
    env.run()
    assert env.run()["total"] == 0
    assert index_file(env.indexer, "img000.png") == "unchanged"
    assert described() == 3


def test_modified_file_is_described_again_and_old_point_dropped(env: Env) -> None:
    write_images(env.root, 1)
    env.run()
    old = env.point("img000.png")
    (env.root / "img000.png").write_bytes(image_bytes(99))
    assert index_file(env.indexer, "img000.png") == "described"
    assert described() == 2
    assert list(env.store.points) == [env.point("img000.png")] != [old]
    assert not thumbnail_path(env.data, old).exists()


def test_touch_with_same_bytes_only_updates_stats(env: Env) -> None:
    write_images(env.root, 1)
    env.run()
    os.utime(env.root / "img000.png", ns=(1_000_000_000, 1_000_000_000))
    assert env.run()["total"] == 0  # reconcile re-hashed, saw the same bytes
    row = env.indexer.state.get("img000.png")
    assert row is not None and row.mtime_ns == 1_000_000_000
    assert described() == 1 and env.store.upserts == 1


def test_delete_removes_point_and_thumbnail(env: Env) -> None:
    write_images(env.root, 2)
    env.run()
    gone = env.point("img001.png")
    (env.root / "img001.png").unlink()
    assert env.run()["removed"] == 1
    assert gone not in env.store.points and env.store.count() == 1
    assert not thumbnail_path(env.data, gone).exists()
    assert env.indexer.state.all_paths() == ["img000.png"]


def test_move_updates_paths_without_describing(env: Env) -> None:
    write_images(env.root, 2)
    env.run()
    (env.root / "album").mkdir()
    (env.root / "img001.png").rename(env.root / "album" / "renamed.png")
    summary = env.run()
    assert summary["moved"] == 1 and summary["removed"] == 1 and summary["total"] == 0
    assert described() == 2
    record = env.store.get(env.point("album/renamed.png"))
    assert record is not None and record.paths == ["album/renamed.png"] and record.filename == "renamed.png"


def test_duplicate_content_is_one_point_with_two_paths(env: Env) -> None:
    write_images(env.root, 1)
    shutil.copy(env.root / "img000.png", env.root / "copy.png")
    env.run()
    assert described() == 1 and env.store.count() == 1
    assert env.paths() == {file_sha256(env.root / "copy.png"): ["copy.png", "img000.png"]}
    (env.root / "img000.png").unlink()
    env.run()
    assert env.store.count() == 1 and list(env.paths().values()) == [["copy.png"]]
    assert thumbnail_path(env.data, env.point("copy.png")).exists()
    env.indexer.remove_path("copy.png")
    assert env.store.count() == 0


def test_bad_files_fail_with_a_reason_and_the_rest_index(env: Env) -> None:
    write_images(env.root, 2)
    (env.root / "notes.jpg").write_text("this is not a photo")
    (env.root / "cut.png").write_bytes(image_bytes(7)[:300])
    (env.root / "empty.png").write_bytes(b"")
    summary = env.run()
    assert summary["described"] == 2 and summary["failed"] == 3
    status = env.indexer.status()
    assert (status.indexed, status.failed) == (2, 3)
    reasons = {f.path: f.error for f in status.failures}
    assert reasons["notes.jpg"] == "not an image (or an unsupported format)"
    # the page lists the path beside the reason: the reason does not repeat it
    assert reasons["cut.png"].startswith("truncated or corrupt image") and "\n" not in reasons["cut.png"]
    assert reasons["empty.png"] == "empty file"
    assert env.run()["total"] == 0  # unchanged failures are not retried on every start
    (env.root / "cut.png").write_bytes(image_bytes(7))  # fixed: retried because it changed
    assert env.run()["described"] == 1
    assert env.indexer.status().failed == 2


def test_a_name_that_is_not_utf8_is_indexed_under_an_escaped_spelling(env: Env) -> None:
    """Linux allows any bytes but / and NUL in a name; Python hands the stray ones over as
    surrogates, which SQLite and JSON refuse. Such a file is indexed like the rest."""
    good = write_images(env.root, 3)
    odd = os.fsdecode(b"bad\xff\xfe.png")
    shutil.copy(env.root / good[0], env.root / odd)
    (env.root / good[0]).write_bytes(image_bytes(42))  # so the odd file's bytes are its own
    summary = env.run()
    assert summary["described"] == 4 and summary.get("failed", 0) == 0
    status = env.indexer.status()
    assert (status.indexed, status.pending, status.failed) == (4, 0, 0)
    record = env.store.get(env.point(odd))
    assert record is not None and record.paths == ["bad\\xff\\xfe.png"]
    assert env.run()["total"] == 0  # found again under the same spelling: nothing to do
    assert on_disk(record.paths[0]) == odd  # the original is found again to serve it
    (env.root / odd).unlink()
    env.run()
    assert env.store.get(point_id(file_sha256(env.root / good[1]))) is not None
    assert env.indexer.status().indexed == 3 and env.store.count() == 3


def test_unexpected_errors_are_recorded_and_indexing_goes_on(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_images(env.root, 3)
    real = env.store.upsert

    def flaky(points: Sequence[ImagePoint]) -> None:  # refuses img001, even inside a batch
        if any(p.payload.paths == ["img001.png"] for p in points):
            raise RuntimeError("store unavailable\nsecond line")
        real(points)

    monkeypatch.setattr(env.store, "upsert", flaky)
    summary = env.run()
    assert summary["described"] == 2 and summary["failed"] == 1
    (failure,) = env.indexer.status().failures
    assert failure.error == "RuntimeError: store unavailable second line"


def test_an_error_no_file_should_cause_fails_that_file_and_the_batch_goes_on(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal read that raises for one path (as a name SQLite refused once did), on
    the read side and again on the writing side: that file is failed with the reason,
    the files around it in the same batch are indexed, and none is left pending."""
    write_images(env.root, 5)
    real = env.indexer.state.get

    def flaky(path: str) -> object:
        if path == "img002.png":
            raise RuntimeError("journal hiccup")
        return real(path)

    monkeypatch.setattr(env.indexer.state, "get", flaky)
    summary = env.run()
    assert summary["described"] == 4 and summary["failed"] == 1
    status = env.indexer.status()
    assert (status.indexed, status.pending, status.failed) == (4, 0, 1)
    assert [(f.path, f.error) for f in status.failures] == [("img002.png", "RuntimeError: journal hiccup")]
    monkeypatch.setattr(env.indexer.state, "get", real)
    (env.root / "img002.png").write_bytes(image_bytes(77))  # changed: retried, and now indexed
    assert env.run()["described"] == 1 and env.indexer.status().failed == 0


def test_hidden_and_temporary_files_are_skipped(env: Env) -> None:
    write_images(env.root, 1)
    (env.root / ".hidden.png").write_bytes(image_bytes(1))
    (env.root / ".cache").mkdir()
    (env.root / ".cache" / "x.png").write_bytes(image_bytes(2))
    (env.root / "download.png.part").write_bytes(image_bytes(3))
    assert env.run()["total"] == 1
    for rel in (".hidden.png", ".cache/x.png", "download.png.part", "a.png~", "b.png.crdownload"):
        assert index_file(env.indexer, rel) == "skipped"
    assert env.indexer.state.all_paths() == ["img000.png"]


def test_restart_picks_up_changes_made_while_stopped(env: Env) -> None:
    write_images(env.root, 4)
    env.run()
    (env.root / "img000.png").unlink()  # deleted
    (env.root / "img001.png").write_bytes(image_bytes(50))  # changed
    (env.root / "img002.png").rename(env.root / "moved.png")  # moved
    write_images(env.root, 1, start=60)  # new
    env.reopen()
    summary = env.run()
    assert (summary["described"], summary["moved"], summary["removed"]) == (2, 1, 2)
    assert described() == 4 + 2
    assert sorted(p for paths in env.paths().values() for p in paths) == [
        "img001.png", "img003.png", "img060.png", "moved.png",
    ]  # fmt: skip
    assert env.store.count() == 4


def test_a_file_the_process_stopped_on_is_retried_later_never_failed(env: Env) -> None:
    write_images(env.root, 2)
    st = (env.root / "img001.png").stat()
    sha = file_sha256(env.root / "img001.png")
    for _ in range(3):  # three starts that each died while describing it
        env.indexer.state.begin("img001.png", st.st_size, st.st_mtime_ns, sha)
    plan = reconcile(env.indexer)
    assert plan.to_index == ["img000.png"]
    assert 0 < plan.deferred["img001.png"] <= crash_backoff(3)
    status = env.indexer.status()
    assert (status.pending, status.failed) == (1, 0)  # img001: pending, not failed
    summary = run_once(env.indexer)  # one-shot: the deferred file comes last, not never
    assert summary["described"] == 2 and env.indexer.status().failed == 0
    row = env.indexer.state.get("img001.png")
    assert row is not None and row.attempts == 0


def test_crash_backoff_grows_and_is_capped() -> None:
    assert crash_backoff(1) == 0  # one stop (a kill, a reboot): straight back to it
    assert crash_backoff(2) == CRASH_BACKOFF_BASE < crash_backoff(3) < crash_backoff(4)
    assert crash_backoff(40) == CRASH_BACKOFF_MAX


def test_files_an_older_version_gave_up_on_are_retried(env: Env) -> None:
    write_images(env.root, 1)
    st = (env.root / "img000.png").stat()
    env.indexer.state.begin("img000.png", st.st_size, st.st_mtime_ns, file_sha256(env.root / "img000.png"))
    reason = "gave up after 3 attempts: the indexer stopped while describing it"
    env.indexer.state.finish("img000.png", FAILED, reason, clear_stale=False)
    assert env.run()["described"] == 1 and env.indexer.status().failed == 0


def test_a_file_still_being_written_is_pending_not_failed(env: Env) -> None:
    data = image_bytes(7, size=(400, 300))
    (env.root / "slow.png").write_bytes(data[: len(data) // 2])  # a writer that paused
    assert index_file(env.indexer, "slow.png", settle_seconds=5) == "changing"
    row = env.indexer.state.get("slow.png")
    assert row is not None and row.status == "pending" and row.attempts == 0  # no crash counted
    assert env.indexer.status().failed == 0
    (env.root / "slow.png").write_bytes(data)  # the writer finished
    assert index_file(env.indexer, "slow.png", settle_seconds=5) == "described"


def test_a_truncated_file_that_has_settled_fails(env: Env) -> None:
    data = image_bytes(7, size=(400, 300))
    (env.root / "cut.png").write_bytes(data[: len(data) // 2])
    old = 1_000_000_000
    os.utime(env.root / "cut.png", ns=(old, old))  # last written long ago
    assert index_file(env.indexer, "cut.png", settle_seconds=5) == "failed"


def test_status_counts_files_and_distinct_images(env: Env) -> None:
    write_images(env.root, 2)
    shutil.copy(env.root / "img000.png", env.root / "copy.png")
    env.run()
    status = env.indexer.status()
    assert (status.indexed, status.images) == (3, 2)  # three files, two images (search shows 2)


def test_symlinks_are_followed_only_inside_the_folder(env: Env, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.png").write_bytes(image_bytes(3))
    write_images(env.root, 1)
    (env.root / "out.png").symlink_to(outside / "secret.png")
    (env.root / "outdir").symlink_to(outside, target_is_directory=True)
    (env.root / "in.png").symlink_to(env.root / "img000.png")
    summary = env.run()  # one-shot index: reconcile's scan, then index_file
    assert summary["total"] == 2 and described() == 1
    assert env.indexer.state.all_paths() == ["img000.png", "in.png"]
    assert index_file(env.indexer, "out.png") == "skipped"
    assert env.indexer.state.get("out.png") is None


def test_reconcile_forgets_links_out_of_the_folder_indexed_before(env: Env, tmp_path: Path) -> None:
    # an older version followed them: the row and the point go on the next start
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.png").write_bytes(image_bytes(3))
    (env.root / "out.png").symlink_to(outside / "secret.png")
    st = (env.root / "out.png").stat()
    sha = file_sha256(env.root / "out.png")
    env.indexer.state.begin("out.png", st.st_size, st.st_mtime_ns, sha)
    env.indexer.state.finish("out.png", INDEXED)
    assert reconcile(env.indexer).removed == 1
    assert env.indexer.state.all_paths() == []


def test_missing_thumbnail_is_rewritten_when_linking(env: Env) -> None:
    write_images(env.root, 1)
    env.run()
    shutil.rmtree(env.data / "thumbs")
    shutil.copy(env.root / "img000.png", env.root / "again.png")
    assert index_file(env.indexer, "again.png") == "linked"
    assert thumbnail_path(env.data, env.point("again.png")).exists() and described() == 1


def test_model_change_reembeds_without_describing(env: Env) -> None:
    write_images(env.root, 3)
    env.run()
    embedder = HashEmbedder(name="other-model", dim=16)
    env.reopen(embedder)
    assert env.run()["reembedded"] == 3
    assert described() == 3  # nothing described again
    for point in env.store.points.values():
        p = point.payload
        assert p.embedding_model == "other-model"
        assert point.dense == embedder.embed_one(document_text(p))
        assert point.focus == embedder.embed_one(focus_text(p))
    assert env.run()["reembedded"] == 0


def test_reembedding_the_text_keeps_the_image_vectors(env: Env) -> None:
    write_images(env.root, 2)
    env.run()
    first, second = sorted(env.store.points)
    env.store.set_image_vectors([(first, [0.5, 0.5])], "siglip2-test")
    env.reopen(HashEmbedder(name="other-model", dim=16))
    assert env.run()["reembedded"] == 2
    assert env.store.points[first].image == [0.5, 0.5]  # an upsert replaces every vector: kept
    assert env.store.points[first].payload.image_model == "siglip2-test"
    assert env.store.points[second].image is None


def test_store_wiped_while_state_kept_reindexes(env: Env) -> None:
    write_images(env.root, 3)
    env.run()
    env.reopen(store=FakeStore())  # e.g. recreated after an embedding size change
    assert env.run()["described"] == 3
    assert env.store.count() == 3 and env.indexer.status().indexed == 3


def test_a_missing_root_does_not_wipe_the_index(env: Env) -> None:
    write_images(env.root, 2)
    env.run()
    env.root.rename(env.root.with_name("unmounted"))
    assert env.run()["removed"] == 0
    assert env.store.count() == 2 and env.indexer.status().indexed == 2


def test_thumbnail_path_accepts_only_uuids(tmp_path: Path) -> None:
    id = str(uuid.uuid4())
    assert thumbnail_path(tmp_path, id) == tmp_path / "thumbs" / f"{id}.webp"
    for bad in ("../../etc/passwd", "", "1234", f"{id}/../x", f"{id}.webp"):
        with pytest.raises(ValueError, match="not a valid image id"):
            thumbnail_path(tmp_path, bad)


# --- batches ---------------------------------------------------------------------------


class CountingStore(FakeStore):
    """Records the size of every upsert call: one call is one store flush."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def upsert(self, points: Sequence[ImagePoint]) -> None:
        self.calls.append(len(points))
        super().upsert(points)


def test_files_are_decoded_once_and_written_in_batches(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.batch
    import indexer.pipeline

    decoded: list[str] = []
    load = indexer.pipeline.load_image

    def counting_load(source: Path, *args: object, **kwargs: object) -> object:
        decoded.append(Path(source).name)
        return load(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer.pipeline, "load_image", counting_load)
    monkeypatch.setattr(indexer.batch, "MAX_ITEMS", 4)
    embedder = HashEmbedder()
    embeds: list[list[str]] = []
    embed = embedder.embed
    monkeypatch.setattr(embedder, "embed", lambda texts: embeds.append(texts) or embed(texts))
    env.reopen(embedder, CountingStore())
    write_images(env.root, 10)
    assert env.run()["described"] == 10
    assert sorted(decoded) == [
        f"img{i:03d}.png" for i in range(10)
    ]  # thumbnail and analysis share one decode
    assert env.store.calls == [4, 4, 2]  # type: ignore[attr-defined]
    # both documents of an image in one call, as it is described (indexer/stages.py);
    # the other calls embed label phrases not seen before (the fake labels have two)
    documents = [texts for texts in embeds if not texts[0].startswith("a photo of a ")]
    assert [len(texts) for texts in documents] == [2] * 10


def test_reading_ahead_stays_a_few_files_ahead(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.batch import Batch

    ahead: list[int] = []  # at each read: files read minus files described
    prepare = env.indexer.prepare

    def watched_prepare(rel: str) -> object:
        ahead.append(len(ahead) + 1 - described())
        return prepare(rel)

    monkeypatch.setattr(env.indexer, "prepare", watched_prepare)
    write_images(env.root, 12)
    assert env.run()["described"] == 12
    depth = Batch(env.indexer).read_ahead
    assert max(ahead) <= depth + 1  # the one being described, and `depth` read ahead of it


class FakeBatchCaption(BaseAnalyzer):
    """A captioner that batches, like the VLMs: the describer calls caption()."""

    name = "fake-batch-caption"
    produces = "caption"
    needs_model = False
    batch_size = 3
    batches: ClassVar[list[int]] = []

    def caption(
        self, images: Sequence[PreparedImage], facts: Sequence[object], profile: object
    ) -> list[Caption]:
        self.batches.append(len(images))
        return [Caption(f"a picture {image.width} wide", self.name) for image in images]

    def _analyze(self, image: PreparedImage, facts: Facts) -> Caption:
        return self.caption([image], [facts], None)[0]


def test_a_batching_captioner_gets_its_batches(env: Env) -> None:
    registry.register(FakeBatchCaption.name)(FakeBatchCaption)
    try:
        settings = DescribeSettings(use=FAKE_USE, captioner=FakeBatchCaption.name)
        env.indexer.close()
        env.indexer = Indexer(env.root, env.data, Describer(settings), HashEmbedder(), env.store)
        write_images(env.root, 7)
        FakeBatchCaption.batches.clear()
        assert env.run()["described"] == 7
        assert FakeBatchCaption.batches == [3, 3, 1]
        assert {p.payload.captioner for p in env.store.points.values()} == {FakeBatchCaption.name}
    finally:
        registry.unregister(FakeBatchCaption.name)


def _documents(texts: list[str]) -> bool:
    """An image's two documents, not label phrases (catalog/points.py)."""
    return not texts[0].startswith("a photo of a ")


def test_an_image_is_embedded_while_the_next_is_described(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoding thread (indexer/stages.py) makes an image's point while the next image
    is analysed: the first image's embedding waits until the second analysis has begun,
    and that analysis until the embedding has begun. Embedded after the describing, or
    before the next image is described, one of them would wait in vain."""
    embedder = HashEmbedder()
    embedding, analysing = threading.Event(), threading.Event()
    saw: dict[str, bool] = {}
    embed = embedder.embed

    def watched_embed(texts: list[str]) -> list[list[float]]:
        if _documents(texts) and not embedding.is_set():
            embedding.set()
            saw["embedding saw the next analysis"] = analysing.wait(timeout=10)
        return embed(texts)

    monkeypatch.setattr(embedder, "embed", watched_embed)
    env.reopen(embedder)
    describer = env.indexer.describer
    analyze_batch = describer.analyze_batch
    calls = itertools.count()

    def watched_analyze(
        images: Sequence[PreparedImage], profile: object, captioner: str | None = None
    ) -> object:
        if next(calls) == 1:
            analysing.set()
            saw["the analysis saw the embedding"] = embedding.wait(timeout=10)
        return analyze_batch(images, profile, captioner)  # type: ignore[arg-type]

    monkeypatch.setattr(describer, "analyze_batch", watched_analyze)
    write_images(env.root, 3)
    assert env.run()["described"] == 3
    assert saw == {"embedding saw the next analysis": True, "the analysis saw the embedding": True}
    assert not [
        t for t in threading.enumerate() if t.name.startswith("imgdesc-encode")
    ]  # stopped with the run


def test_an_image_whose_point_cannot_be_made_fails_and_the_rest_index(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = HashEmbedder()
    calls = itertools.count()
    embed = embedder.embed

    def flaky(texts: list[str]) -> list[list[float]]:
        if _documents(texts) and next(calls) == 1:  # the second image's documents
            raise RuntimeError("embedder out of memory")
        return embed(texts)

    monkeypatch.setattr(embedder, "embed", flaky)
    env.reopen(embedder)
    write_images(env.root, 3)
    summary = env.run()
    assert summary["described"] == 2 and summary["failed"] == 1
    status = env.indexer.status()
    assert (status.indexed, status.pending, status.failed) == (2, 0, 1)
    assert [(f.path, f.error) for f in status.failures] == [
        ("img001.png", "RuntimeError: embedder out of memory")
    ]
    assert env.store.count() == 2
