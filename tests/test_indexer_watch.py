"""The watcher end to end: real watchdog events on a temp folder, a real Describer
with fake analyzers. Waits poll with a timeout instead of sleeping blindly."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import waiting
from fakes import (
    CALLS,
    FakeStore,
    HashEmbedder,
    described,
    fake_analyzers,
    image_bytes,
    make_describer,
    write_images,
)

from indexer.watch import Watcher

log = logging.getLogger(__name__)
TIMEOUT = 15.0  # generous: the suite shares two cores with other work


@pytest.fixture(autouse=True)
def _fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


def wait_for(check: Callable[[], bool], timeout: float = TIMEOUT) -> float:
    """Seconds until check() held; fails the test after `timeout`."""
    return waiting.wait_for(check, timeout, interval=0.02)


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.root, self.data = tmp / "root", tmp / "data"
        self.root.mkdir()
        self.store = FakeStore()
        self.watcher: Watcher | None = None

    def start(self, delay: float = 0.0, stable: float = 0.3, settle: float = 1.0) -> Watcher:
        self.watcher = Watcher.create(
            self.root, self.data, make_describer(delay), HashEmbedder(), self.store,
            stable_seconds=stable, settle_seconds=settle,
        )  # fmt: skip
        self.watcher.start()
        return self.watcher

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def paths(self) -> list[str]:
        return sorted(p for point in self.store.points.values() for p in point.payload.paths)

    def status(self, rel: str) -> str | None:
        assert self.watcher is not None
        row = self.watcher.indexer.state.get(rel)
        return row.status if row else None


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[Rig]:
    CALLS.clear()
    r = Rig(tmp_path)
    yield r
    r.stop()


def test_files_dropped_in_are_indexed_moved_and_removed(rig: Rig) -> None:
    write_images(rig.root, 2)
    watcher = rig.start()
    assert watcher.wait_idle(TIMEOUT)
    assert rig.paths() == ["img000.png", "img001.png"]

    (rig.root / "new.png").write_bytes(image_bytes(5))
    latency = wait_for(lambda: rig.status("new.png") == "indexed")
    log.info("dropped file indexed after %.2f s", latency)
    assert latency < 5
    assert described() == 3

    (rig.root / "album").mkdir()
    (rig.root / "new.png").rename(rig.root / "album" / "kept.png")
    wait_for(lambda: rig.paths() == ["album/kept.png", "img000.png", "img001.png"])
    (rig.root / "img000.png").unlink()
    wait_for(lambda: rig.paths() == ["album/kept.png", "img001.png"])
    assert described() == 3 and rig.store.count() == 2
    assert watcher.wait_idle(TIMEOUT) and watcher.status().pending == 0


def test_a_file_still_being_written_is_described_once_when_complete(rig: Rig) -> None:
    watcher = rig.start(stable=0.5)
    assert watcher.wait_idle(TIMEOUT)
    data = image_bytes(9, size=(400, 300))
    chunks = [data[i : i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    target = rig.root / "slow.png"
    with target.open("wb") as fh:
        for chunk in chunks:  # ~1 s of writing, in pauses shorter than the quiet interval
            fh.write(chunk)
            fh.flush()
            time.sleep(0.12)
            assert rig.status("slow.png") is None, "described mid-write"
    wait_for(lambda: rig.status("slow.png") == "indexed")
    assert described() == 1
    (record,) = (p.payload for p in rig.store.points.values())
    assert record.size_bytes == len(data) and (record.width, record.height) == (400, 300)


def test_a_writer_pausing_longer_than_the_quiet_interval_is_pending_not_failed(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    watcher = rig.start(stable=0.3, settle=30)
    assert watcher.wait_idle(TIMEOUT)
    failed: list[str] = []
    finish = watcher.indexer.state.finish

    def recording_finish(path: str, status: str, *args: Any, **kwargs: Any) -> None:
        if status == "failed":
            failed.append(path)
        finish(path, status, *args, **kwargs)

    monkeypatch.setattr(watcher.indexer.state, "finish", recording_finish)
    data = image_bytes(9, size=(400, 300))
    target = rig.root / "slow.png"
    with target.open("wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()
        # the pause outlasts the quiet interval: the watcher looks at the half-written file
        wait_for(lambda: watcher.processed >= 1)
        assert rig.status("slow.png") == "pending" and watcher.status().failed == 0
        fh.write(data[len(data) // 2 :])
    wait_for(lambda: rig.status("slow.png") == "indexed")
    assert failed == [] and described() == 1


def test_symlinks_out_of_the_folder_are_not_followed(rig: Rig, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.png").write_bytes(image_bytes(3))
    write_images(rig.root, 1)
    watcher = rig.start()
    assert watcher.wait_idle(TIMEOUT)
    (rig.root / "out.png").symlink_to(outside / "secret.png")
    (rig.root / "in.png").symlink_to(rig.root / "img000.png")
    wait_for(lambda: rig.status("in.png") == "indexed")
    assert watcher.wait_idle(TIMEOUT)
    assert rig.status("out.png") is None and rig.paths() == ["img000.png", "in.png"] and described() == 1


def test_a_file_the_process_stopped_on_waits_as_pending_then_indexes(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer import reconcile
    from indexer.pipeline import file_sha256
    from indexer.state import IndexState

    monkeypatch.setattr(reconcile, "CRASH_BACKOFF_BASE", 2.0)
    write_images(rig.root, 2)
    state = IndexState(rig.data)  # as a process killed three times while describing img001 left it
    st = (rig.root / "img001.png").stat()
    for _ in range(3):
        state.begin("img001.png", st.st_size, st.st_mtime_ns, file_sha256(rig.root / "img001.png"))
    state.close()
    watcher = rig.start()
    wait_for(lambda: rig.status("img000.png") == "indexed")
    status = watcher.status()
    assert (rig.status("img001.png"), status.pending, status.failed) == ("pending", 1, 0)
    wait_for(lambda: rig.status("img001.png") == "indexed")  # after its backoff, not never
    assert described() == 2


def test_download_pattern_temp_name_then_rename(rig: Rig) -> None:
    watcher = rig.start()
    (rig.root / "photo.png.part").write_bytes(image_bytes(3))
    (rig.root / "photo.png.part").rename(rig.root / "photo.png")
    wait_for(lambda: rig.status("photo.png") == "indexed")
    assert watcher.wait_idle(TIMEOUT)
    assert watcher.indexer.state.all_paths() == ["photo.png"] and described() == 1


def test_folder_moves_and_copies_link_without_describing(rig: Rig) -> None:
    write_images(rig.root, 3, sub="trip")
    watcher = rig.start()
    assert watcher.wait_idle(TIMEOUT)
    (rig.root / "trip").rename(rig.root / "holiday")
    want = ["holiday/img000.png", "holiday/img001.png", "holiday/img002.png"]
    wait_for(lambda: rig.paths() == want)
    shutil.copy(rig.root / "holiday" / "img000.png", rig.root / "copy.png")
    wait_for(lambda: rig.paths() == sorted([*want, "copy.png"]))
    assert described() == 3 and rig.store.count() == 3
    shutil.rmtree(rig.root / "holiday")
    wait_for(lambda: rig.paths() == ["copy.png"])
    assert watcher.wait_idle(TIMEOUT) and rig.store.count() == 1


def test_bad_file_fails_while_others_index(rig: Rig) -> None:
    watcher = rig.start()
    (rig.root / "fake.jpg").write_text("plain text, not a JPEG")
    (rig.root / "good.png").write_bytes(image_bytes(1))
    wait_for(lambda: rig.status("fake.jpg") == "failed" and rig.status("good.png") == "indexed")
    (failure,) = watcher.status().failures
    assert failure.path == "fake.jpg" and "not an image" in failure.error


def test_restart_picks_up_what_changed_while_stopped(rig: Rig) -> None:
    write_images(rig.root, 3)
    assert rig.start().wait_idle(TIMEOUT)
    rig.stop()
    (rig.root / "img000.png").unlink()
    (rig.root / "img001.png").rename(rig.root / "renamed.png")
    write_images(rig.root, 1, start=7)
    watcher = rig.start(delay=0.1)
    assert watcher.ready.wait(TIMEOUT)
    assert watcher.status().pending >= 1  # the new file waits for its quiet interval
    assert watcher.wait_idle(TIMEOUT)
    assert rig.paths() == ["img002.png", "img007.png", "renamed.png"]
    assert described() == 4
    status = watcher.status()
    assert (status.indexed, status.pending, status.failed, status.ready) == (3, 0, 0, True)


class OptimisingStore(FakeStore):
    """A store with a search index to build, like the embedded Edge shard."""

    def __init__(self) -> None:
        super().__init__()
        self.optimised = 0

    def optimize(self) -> bool:
        self.optimised += 1
        return True


def test_the_store_is_optimised_once_a_bulk_load_is_done(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import service

    monkeypatch.setattr(service, "OPTIMIZE_AFTER", 3)
    rig.store = store = OptimisingStore()
    write_images(rig.root, 2)
    watcher = rig.start()
    assert watcher.wait_idle(TIMEOUT)
    assert store.optimised == 0  # two changes: below the threshold
    (rig.root / "third.png").write_bytes(image_bytes(7))
    wait_for(lambda: store.optimised == 1)
    rig.stop()
    write_images(rig.root, 5)  # one-shot run over the folder: 3 new files
    summary = service.index_folder(rig.root, rig.data, make_describer(0.0), HashEmbedder(), store)
    assert summary["described"] == 3 and store.optimised == 2


class CountingStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def upsert(self, points: Any) -> None:
        self.calls.append(len(points))
        super().upsert(points)


def test_a_batch_closes_once_nothing_else_is_due(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import batch

    monkeypatch.setattr(batch, "MAX_WAIT", 60.0)  # only an empty queue can close it in time
    rig.store = store = CountingStore()
    write_images(rig.root, 6)
    watcher = rig.start()
    assert watcher.wait_idle(TIMEOUT)
    assert sum(store.calls) == 6 and len(store.calls) < 6  # the start-up files, in batches
    (rig.root / "new.png").write_bytes(image_bytes(50))
    latency = wait_for(lambda: rig.status("new.png") == "indexed")
    assert latency < 5 and store.calls[-1] == 1
    assert watcher.status().pending == 0
