"""Crash safety: an indexer stopped at any write boundary, or SIGKILLed mid-run,
loses nothing and duplicates nothing once it runs again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import CALLS, FakeStore, HashEmbedder, fake_analyzers, image_bytes, make_describer, write_images
from waiting import wait_for

from catalog.store.base import point_id
from indexer.pipeline import Indexer, file_sha256
from indexer.reconcile import scan
from indexer.state import IndexState
from indexer.watch import run_once

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


class Crash(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the pipeline catches it."""


def expected_paths(root: Path) -> dict[str, list[str]]:
    """sha256 → sorted paths, from the files on disk."""
    found: dict[str, list[str]] = defaultdict(list)
    for rel in sorted(scan(root)):
        found[file_sha256(root / rel)].append(rel)
    return dict(found)


def stored_paths(data: Path, count: int) -> dict[str, list[str]]:
    """sha256 → paths of every point the embedded store holds, which must be `count`."""
    from catalog.store.edge import EdgeStore

    store = EdgeStore.open(data / "qdrant", HashEmbedder().dim)
    try:
        assert store.count() == count
        return {p.sha256: sorted(p.paths) for _, p in store.scroll()}
    finally:
        store.close()


def check_consistent(root: Path, data: Path, stored: dict[str, list[str]]) -> None:
    want = expected_paths(root)
    assert stored == want
    state = IndexState(data)
    try:
        assert state.counts() == {"pending": 0, "indexed": sum(map(len, want.values())), "failed": 0}
        assert all(not row.stale for row in state.rows())
    finally:
        state.close()
    thumbs = {p.stem for p in (data / "thumbs").glob("*.webp")}
    assert thumbs == {point_id(sha) for sha in want}


class Tripwire:
    """Counts calls to the write methods of the store and the state; raises Crash just
    before or just after call number `at` (None: never, only count)."""

    def __init__(self, at: int | None, after: bool) -> None:
        self.at, self.after, self.calls = at, after, 0

    def wrap(self, obj: Any, names: tuple[str, ...]) -> None:
        for name in names:
            setattr(obj, name, self._wrapped(getattr(obj, name)))

    def _wrapped(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.at and not self.after:
                raise Crash
            result = fn(*args, **kwargs)
            if self.calls == self.at and self.after:
                raise Crash
            return result

        return call


def scenario(tmp: Path, at: int | None, after: bool) -> tuple[int, Path, Path, FakeStore]:
    """Index a folder, change it in every way, then index again with a crash at one write."""
    root, data = tmp / "root", tmp / "data"
    write_images(root, 5)
    store = FakeStore()
    indexer = Indexer(root, data, make_describer(), HashEmbedder(), store)
    run_once(indexer)
    indexer.close()
    (root / "img000.png").write_bytes(image_bytes(40))  # modified
    (root / "sub").mkdir()
    (root / "img001.png").rename(root / "sub" / "moved.png")  # moved
    shutil.copy(root / "img002.png", root / "dup.png")  # duplicate
    (root / "img003.png").unlink()  # deleted
    write_images(root, 1, start=41)  # new
    shutil.copy(root / "img041.png", root / "sub" / "dup41.png")  # new, twice
    indexer = Indexer(root, data, make_describer(), HashEmbedder(), store)
    wire = Tripwire(at, after)
    wire.wrap(store, ("upsert", "set_paths", "delete"))
    wire.wrap(indexer.state, ("begin", "finish", "update_stats", "requeue", "delete"))
    try:
        run_once(indexer)
    except Crash:
        pass
    finally:
        indexer.close()
        for name in ("upsert", "set_paths", "delete"):
            vars(store).pop(name)  # unwrap: the restarted indexer runs clean
    return wire.calls, root, data, store


def test_stopping_at_any_write_then_restarting_converges(tmp_path: Path) -> None:
    total, *_ = scenario(tmp_path / "dry", None, False)
    assert total > 10
    for at in range(1, total + 1):
        for after in (False, True):
            CALLS.clear()
            _, root, data, store = scenario(tmp_path / f"{at}-{after}", at, after)
            indexer = Indexer(root, data, make_describer(), HashEmbedder(), store)
            run_once(indexer)
            indexer.close()
            stored = {p.payload.sha256: sorted(p.payload.paths) for p in store.points.values()}
            check_consistent(root, data, stored)
            # 5 at first, then 2 new contents, written in one batch: only a stop between
            # describing one of them and the batch's upsert redoes what was described
            assert 7 <= CALLS["fake-caption"] <= 9, (at, after)


def _child(root: Path, data: Path, delay: float) -> list[str]:
    code = "import sys; sys.path.insert(0, 'tests'); import fakes; fakes.crash_child(*sys.argv[1:])"
    return [sys.executable, "-c", code, str(root), str(data), str(delay)]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_run_then_restart_indexes_everything_once(tmp_path: Path) -> None:
    pytest.importorskip("qdrant_edge")
    root, data = tmp_path / "root", tmp_path / "data"
    write_images(root, 27)
    for i in range(3):  # duplicates: 30 files, 27 contents
        shutil.copy(root / f"img{i:03d}.png", root / f"copy{i}.png")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    child = subprocess.Popen(_child(root, data, 0.05), cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    seen = [child.stdout.readline() for _ in range(10)]
    assert all("/30 " in line for line in seen), seen
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL

    state = IndexState(data)
    assert 10 <= state.counts()["indexed"] < 30  # killed mid-run, not before or after
    finished = len({row.sha256 for row in state.with_status("indexed")})
    state.close()

    done = subprocess.run(
        _child(root, data, 0.0), cwd=REPO, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.splitlines()[-1].removeprefix("SUMMARY "))
    # the first run's work is not redone; the file it was killed on may have reached the store
    assert 27 - finished - 1 <= summary["described"] <= 27 - finished

    check_consistent(root, data, stored_paths(data, count=27))


class _FlushHangs:
    """Stands in for the Edge shard: its next flush (once armed) marks the file system
    and hangs, so the parent kills the process between a batch's update and its flush."""

    def __init__(self, shard: Any, marker: Path) -> None:
        self._shard, self._marker, self.armed = shard, marker, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shard, name)

    def flush(self) -> None:
        if self.armed:
            self._marker.write_text("flushing")
            threading.Event().wait()  # killed here
        self._shard.flush()


def batch_kill_child(root: str, data_dir: str, moment: str, marker: str) -> None:
    """Index `root` into a real EdgeStore; the first batch of several points hangs at
    `moment` ("flush": updated but not flushed; "marked": flushed, rows not yet marked
    indexed) after writing `marker`, for the parent to SIGKILL. "none": run to the end."""
    from catalog.store.edge import EdgeStore
    from indexer import batch
    from indexer.watch import index_folder

    batch.MAX_WAIT = 60.0  # one batch for the whole folder, however loaded the machine
    embedder = HashEmbedder()
    store = EdgeStore.open(Path(data_dir) / "qdrant", embedder.dim)
    shard = store._shard = _FlushHangs(store._shard, Path(marker))  # type: ignore[assignment]
    upsert = store.upsert

    def hanging_upsert(points: Any) -> None:
        shard.armed = moment == "flush" and len(points) > 1
        upsert(points)
        if moment == "marked" and len(points) > 1:
            Path(marker).write_text(f"{len(points)} points flushed")
            threading.Event().wait()  # killed here

    store.upsert = hanging_upsert  # type: ignore[method-assign]
    with fake_analyzers():
        summary = index_folder(root, data_dir, make_describer(), embedder, store)
    store.close()
    print("SUMMARY " + json.dumps(summary), flush=True)


def _batch_child(root: Path, data: Path, moment: str, marker: Path) -> list[str]:
    code = "import sys; sys.path.insert(0, 'tests'); import test_indexer_crash as t; "
    code += "t.batch_kill_child(*sys.argv[1:])"
    return [sys.executable, "-c", code, str(root), str(data), moment, str(marker)]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
@pytest.mark.parametrize("moment", ["flush", "marked"])
def test_sigkill_while_a_batch_is_written_loses_and_duplicates_nothing(tmp_path: Path, moment: str) -> None:
    pytest.importorskip("qdrant_edge")
    root, data, marker = tmp_path / "root", tmp_path / "data", tmp_path / "hanging"
    write_images(root, 12)
    # 13 files, 12 contents; the copy comes last, and its content in the open batch
    # makes the batch be written first
    shutil.copy(root / "img000.png", root / "zcopy.png")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(_batch_child(root, data, moment, marker), cwd=REPO, env=env)
    try:

        def inside_the_write() -> bool:  # the child is inside the batch's write, and stays there
            assert child.poll() is None, "the child finished without writing a batch"
            return marker.exists()

        wait_for(inside_the_write, 60, interval=0.02)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL

    state = IndexState(data)
    pending = state.counts()["pending"]
    state.close()
    assert pending == 12  # the whole batch was begun, none of it marked indexed

    done = subprocess.run(
        _batch_child(root, data, "none", marker),
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.splitlines()[-1].removeprefix("SUMMARY "))
    if moment == "marked":  # the points were durable: linked to their paths, not described again
        assert (summary.get("described", 0), summary["linked"]) == (0, 13)

    check_consistent(root, data, stored_paths(data, count=12))
