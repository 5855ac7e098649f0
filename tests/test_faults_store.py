"""Fault injection: the embedded store's files are damaged (docs/RELIABILITY.md).

64 KB of a payload page or of a vector file is overwritten, as in the attack that found
every search answering 500 behind a health of "ok". The store is read back at start-up
and on a failing read; damage is moved aside (never deleted), an empty store takes its
place, and every image is described into it again from the journal and the files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import waiting
from fakes import HashEmbedder, described, fake_analyzers, guarded_edge_store, make_describer, write_images

from catalog.store.base import DENSE, point_id
from catalog.store.edge import EdgeStore
from catalog.store.guarded import GuardedStore, StoreReadError
from indexer.pipeline import file_sha256
from indexer.watch import Watcher

pytest.importorskip("qdrant_edge")
REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 60.0
DIM = HashEmbedder().dim


@pytest.fixture(autouse=True)
def _fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


def _watch(root: Path, data: Path, store: GuardedStore, delay: float = 0.0) -> Watcher:
    watcher = Watcher.create(root, data, make_describer(delay), HashEmbedder(), store, stable_seconds=0.2)
    watcher.start()
    return watcher


def _indexed(root: Path, data: Path, count: int) -> list[str]:
    names = write_images(root, count)
    store = guarded_edge_store(data, DIM)
    watcher = _watch(root, data, store)
    waiting.wait_for(lambda: watcher.status().indexed == count, TIMEOUT)
    watcher.stop()
    store.close()
    return names


def _damage(data: Path, part: str) -> Path:
    """Overwrite 64 KB of the store's first payload page or dense vector file."""
    pattern = (
        "payload_storage/page_0.dat" if part == "payload" else "vector_storage-dense/vectors/chunk_0.mmap"
    )
    (target,) = (data / "qdrant" / "segments").glob(f"*/{pattern}")
    with target.open("r+b") as fh:
        fh.write(os.urandom(64 * 1024))
    return target


@pytest.mark.parametrize("part", ["payload", "vector"])
def test_a_damaged_store_is_moved_aside_and_rebuilt_at_start_up(tmp_path: Path, part: str) -> None:
    root, data = tmp_path / "root", tmp_path / "data"
    names = _indexed(root, data, 12)
    _damage(data, part)
    store = guarded_edge_store(data, DIM)
    before = described()
    watcher = _watch(root, data, store)
    try:
        waiting.wait_for(watcher.ready.is_set, TIMEOUT)  # checked, moved aside, queued again
        waiting.wait_for(lambda: not watcher.status().pending, TIMEOUT)
        assert watcher.status().indexed == len(names)
        (aside,) = data.glob("qdrant.damaged-*")
        assert (aside / "segments").is_dir()  # kept, never deleted
        assert described() - before == len(names)  # every image described again into the new store
        assert store.count() == len(names)
        assert store.verify() is None
        hits = store.nearest(DENSE, HashEmbedder().embed_one("a photo"), limit=50)
        assert len(hits) == len(names)
        assert watcher.status().repair is None  # done: every image the journal knew is back
    finally:
        watcher.stop()
        store.close()


def test_a_read_of_a_damaged_store_is_a_503_naming_the_repair_and_asks_for_a_check(tmp_path: Path) -> None:
    root, data = tmp_path / "root", tmp_path / "data"
    names = _indexed(root, data, 6)
    _damage(data, "payload")
    store = guarded_edge_store(data, DIM)
    reported: list[Exception] = []
    store.on_damage = reported.append
    try:
        with pytest.raises(StoreReadError) as caught:
            list(store.scroll())
        assert caught.value.status_code == 503
        assert "checked" in caught.value.message and "rebuilt" in caught.value.message
        assert len(reported) == 1
        with pytest.raises(StoreReadError):
            store.get_many([point_id(file_sha256(root / name)) for name in names])
        assert store.verify() is not None  # the read-back finds it
    finally:
        store.close()


def test_a_damaged_store_found_by_a_search_is_repaired_while_running(tmp_path: Path) -> None:
    """Damage that appears while the server runs: the first failing read asks the
    watcher to check, and the watcher rebuilds without a restart."""
    from indexer import upkeep

    root, data = tmp_path / "root", tmp_path / "data"
    names = write_images(root, 8)
    store = guarded_edge_store(data, DIM)
    watcher = _watch(root, data, store)
    try:
        waiting.wait_for(lambda: watcher.status().indexed == len(names), TIMEOUT)
        watcher.upkeep.checked_at = -upkeep.CHECK_INTERVAL  # the start-up check was just now
        inner = store.inner
        assert isinstance(inner, EdgeStore)

        def failing_scroll(batch: int = 256, tags: object = ()) -> Iterator[object]:
            raise Exception("Service runtime error: Failed to decode value: Failed to decompress LZ4 value")
            yield  # a generator, like the real one

        inner.scroll = failing_scroll  # type: ignore[method-assign]
        inner.verify = lambda **_: "payloads unreadable after 0 points: Failed to decompress LZ4 value"  # type: ignore[method-assign]
        with pytest.raises(StoreReadError):
            list(store.scroll())
        watcher.enqueue(names[0])  # wakes the worker, which checks before its next job
        waiting.wait_for(lambda: store.inner is not inner, TIMEOUT)  # moved aside, a new one served
        assert len(list(data.glob("qdrant.damaged-*"))) == 1
        waiting.wait_for(lambda: store.count() == len(names) and not watcher.status().pending, TIMEOUT)
        assert len(list(store.scroll())) == len(names)
    finally:
        watcher.stop()
        store.close()


def repair_kill_child(root: str, data_dir: str) -> None:
    """The kill test's child: a slow watcher over a damaged store, killed mid-repair."""
    from indexer import batch

    batch.MAX_WAIT = 0.3  # batches close while the repair goes on, so the kill lands between them
    store = guarded_edge_store(Path(data_dir), DIM)
    with fake_analyzers():
        watcher = _watch(Path(root), Path(data_dir), store, delay=0.3)
        watcher.wait_idle(600)


def test_kill_9_during_a_repair_then_a_restart_finishes_it(tmp_path: Path) -> None:
    root, data = tmp_path / "root", tmp_path / "data"
    names = _indexed(root, data, 10)
    _damage(data, "payload")
    code = (
        f"import sys; sys.path[:0] = [{str(REPO / 'tests')!r}, {str(REPO)!r}]; "
        f"from test_faults_store import repair_kill_child; repair_kill_child({str(root)!r}, {str(data)!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        # moved aside, and some of the images described into the new store: kill now
        waiting.wait_for(lambda: any(data.glob("qdrant.damaged-*")), TIMEOUT)
        waiting.wait_for(lambda: _mid_repair(data), TIMEOUT)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    store = guarded_edge_store(data, DIM)
    watcher = _watch(root, data, store)
    try:
        waiting.wait_for(lambda: store.count() == len(names) and not watcher.status().pending, TIMEOUT)
        assert watcher.status().indexed == len(names) and watcher.status().failed == 0
        assert store.verify() is None
        assert len(list(data.glob("qdrant.damaged-*"))) == 1  # the damaged copy is still there
    finally:
        watcher.stop()
        store.close()


def _mid_repair(data: Path) -> bool:
    """The child's journal says the repair is under way: the images were queued again
    (pending) and some are already back in the new store (indexed)."""
    from indexer.state import IndexState

    try:
        state = IndexState(data)
    except Exception:  # being written right now
        return False
    try:
        counts = state.counts()
    finally:
        state.close()
    return counts["pending"] > 0 and counts["indexed"] >= 1
