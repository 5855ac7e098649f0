"""Fault injection: the data folder's disk fills up (docs/RELIABILITY.md).

A full disk is a state, not a crash and not a file's failure: the watcher pauses with the
files pending, status says `disk_full` with the path and free space, search keeps
answering, and indexing resumes by itself once space returns. Each write site is tested
with ENOSPC injected into its write call; where the test may mount a real tmpfs (root),
the same is done on one, with the real embedded store, filled with a real file.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import waiting
from fakes import FakeStore, HashEmbedder, fake_analyzers, guarded_edge_store, make_describer, write_images

from catalog import space
from catalog.space import MB, DiskFullError, DiskGuard, is_out_of_space
from indexer.watch import Watcher

TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def _fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


class Disk:
    """A disk that fills at the first write to the chosen site, and empties on `free()`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        self.failed_writes = 0
        real_free = DiskGuard.free
        monkeypatch.setattr(DiskGuard, "free", lambda guard: 1 * MB if self.full else real_free(guard))

    def write(self, error: Exception) -> Callable[..., Any]:
        def failing(*args: Any, **kwargs: Any) -> Any:
            self.full = True  # the disk filled up between the space check and this write
            self.failed_writes += 1
            raise error

        return failing

    def free(self) -> None:
        self.full = False


def _enospc() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def _start(root: Path, data: Path, store: Any) -> Watcher:
    watcher = Watcher.create(
        root, data, make_describer(), HashEmbedder(), store,
        stable_seconds=0.2, settle_seconds=0.5, space_poll_seconds=0.05,
    )  # fmt: skip
    watcher.start()
    return watcher


SITES = ["store", "journal", "thumbnail"]


@pytest.mark.parametrize("site", SITES)
def test_enospc_at_a_write_pauses_indexing_keeps_files_pending_and_resumes_when_space_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, site: str
) -> None:
    from indexer import batch as batch_module
    from indexer.state import IndexState

    root, data = tmp_path / "root", tmp_path / "data"
    root.mkdir()
    store = FakeStore()
    watcher = _start(root, data, store)
    try:
        watcher.wait_idle(TIMEOUT)
        disk = Disk(monkeypatch)
        with monkeypatch.context() as failing:
            if site == "store":
                failing.setattr(store, "upsert", disk.write(_enospc()))
            elif site == "journal":
                failing.setattr(
                    IndexState, "begin", disk.write(sqlite3.OperationalError("database or disk is full"))
                )
            else:
                failing.setattr(batch_module, "write_thumbnail", disk.write(_enospc()))
            names = write_images(root, 6)
            waiting.wait_for(lambda: watcher.status().disk_full is not None, TIMEOUT)
            status = watcher.status()
            assert status.disk_full is not None and status.disk_full.path == str(data)
            assert (
                status.disk_full.free_bytes == 1 * MB and status.disk_full.needed_bytes >= space.RESERVE_BYTES
            )
            assert status.failed == 0 and status.indexed == 0  # nothing half-written is indexed
            assert status.pending >= 1
            assert store.count() == 0  # search answers (an empty catalog), nothing half-stored
        disk.free()  # the filler is removed: the failing write works again, and free() says so
        waiting.wait_for(lambda: watcher.status().indexed == len(names), TIMEOUT)
        status = watcher.status()
        assert (status.disk_full, status.failed, status.pending) == (None, 0, 0)
        assert store.count() == len(names) and disk.failed_writes >= 1
    finally:
        watcher.stop()


def test_an_older_versions_failures_for_lack_of_space_are_retried(tmp_path: Path) -> None:
    from indexer.state import IndexState

    root, data = tmp_path / "root", tmp_path / "data"
    (name,) = write_images(root, 1)
    state = IndexState(data)  # as a version that failed files for a full disk left them
    state.fail_new(name, 1, 1, "", "[Errno 28] No space left on device")
    state.close()
    store = FakeStore()
    watcher = _start(root, data, store)
    try:
        waiting.wait_for(lambda: watcher.status().indexed == 1, TIMEOUT)
        assert watcher.status().failed == 0
    finally:
        watcher.stop()


def test_the_phrase_cache_failing_to_write_for_lack_of_space_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The label phrase cache is a cache: a full disk leaves it unwritten, and the points
    are still made (the next start embeds those phrases again)."""
    from catalog import phrase_cache
    from catalog.points import PointEncoder

    monkeypatch.setattr(phrase_cache, "replacing", Disk(monkeypatch).write(_enospc()))
    encoder = PointEncoder(HashEmbedder(), tmp_path / "phrases.npz")
    with caplog.at_level(logging.WARNING):
        vector = encoder.label_vector([_label("daisy")])
    assert vector is not None and len(vector) == 16
    assert "cannot write the label phrase cache" in caplog.text
    assert not (tmp_path / "phrases.npz").exists()


def _label(name: str) -> Any:
    from describe.facts import Label

    return Label(name=name, score=0.9, category="plant")


def test_out_of_space_is_told_from_other_errors() -> None:
    assert is_out_of_space(_enospc())
    assert is_out_of_space(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_out_of_space(sqlite3.OperationalError("database or disk is full"))
    assert is_out_of_space(Exception("Service internal error: No space left on device (os error 28)"))
    try:
        try:
            raise _enospc()
        except OSError as inner:
            raise RuntimeError("flush failed") from inner
    except RuntimeError as outer:
        assert is_out_of_space(outer)
    assert not is_out_of_space(OSError(errno.EACCES, "Permission denied"))
    assert not is_out_of_space(sqlite3.DatabaseError("database disk image is malformed"))
    assert not is_out_of_space(ValueError("28 images"))


# --- a real tmpfs ---------------------------------------------------------------------------


@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 600 MB tmpfs, where the test may mount one (root in CI); skipped elsewhere. An
    embedded store is 250-350 MB on paper, and on tmpfs all of it is real once touched."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600m", "tmpfs", str(where)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()[:80]}); ENOSPC is injected above"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(where: Path, leave: int) -> Path:
    """A real file that leaves `leave` bytes free on `where`'s file system."""
    filler = where / "filler"
    free = shutil.disk_usage(where).free
    subprocess.run(["fallocate", "-l", str(max(0, free - leave)), str(filler)], check=True)
    return filler


def test_on_a_real_tmpfs_filled_to_3_mb_the_watcher_pauses_then_indexes_everything_once_freed(
    tmpfs: Path, tmp_path: Path
) -> None:
    root, data = tmp_path / "root", tmpfs / "data"
    store = guarded_edge_store(data)
    watcher = _start(root, data, store)
    try:
        watcher.wait_idle(TIMEOUT)
        filler = _fill(tmpfs, 3 * MB)
        names = write_images(root, 12)
        waiting.wait_for(lambda: watcher.status().disk_full is not None, TIMEOUT)
        status = watcher.status()
        assert status.failed == 0 and status.indexed == 0 and status.pending == len(names)
        assert store.count() == 0  # the store still answers
        filler.unlink()
        waiting.wait_for(lambda: watcher.status().indexed == len(names), 60)
        assert watcher.status().disk_full is None and store.count() == len(names)
    finally:
        watcher.stop()
        store.close()


def test_starting_on_a_full_tmpfs_serves_a_read_only_copy_then_loads_in_place_once_freed(
    tmpfs: Path, tmp_path: Path
) -> None:
    """Loading the store with less free space than its holes died of SIGBUS (exit 135)."""
    from catalog.factory import Models, open_store
    from catalog.settings import CatalogSettings
    from catalog.store.base import DENSE

    root, data = tmp_path / "root", tmpfs / "data"
    store = guarded_edge_store(data)
    watcher = _start(root, data, store)
    names = write_images(root, 4)
    waiting.wait_for(lambda: watcher.status().indexed == len(names), TIMEOUT)
    watcher.stop()
    store.close()
    filler = _fill(tmpfs, 3 * MB)
    settings = CatalogSettings(data_dir=str(data))
    models = Models(make_describer(), HashEmbedder(), None)
    reopened = open_store(settings, models)  # in-process: a SIGBUS would end the test run
    try:
        assert reopened.read_only is not None and reopened.copy is not None
        assert reopened.count() == len(names)  # search answers from the copy
        assert reopened.nearest(DENSE, HashEmbedder().embed_one("a photo"), limit=10)
        with pytest.raises(DiskFullError):
            reopened.delete(["00000000-0000-0000-0000-000000000000"])
        more = write_images(root, 2, start=len(names))
        watcher = _start(root, data, reopened)
        waiting.wait_for(lambda: watcher.status().disk_full is not None, TIMEOUT)
        filler.unlink()
        waiting.wait_for(lambda: watcher.status().indexed == len(names) + len(more), 60)
        assert reopened.read_only is None and reopened.copy is None
        assert reopened.count() == len(names) + len(more)
        watcher.stop()
    finally:
        reopened.close()


def test_an_edit_on_a_full_disk_is_a_507_that_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalog.edits import EditStore
    from tests.fake_app import fake_site, wait_for

    images = tmp_path / "images"
    write_images(images, 1)
    with fake_site(tmp_path, images) as client:
        wait_for(lambda: client.get("/api/index/status").json()["indexed"] == 1)
        (hit,) = client.get("/api/search", params={"q": "test card"}).json()["hits"]
        with monkeypatch.context() as full:
            full.setattr(
                EditStore,
                "put",
                Disk(monkeypatch).write(sqlite3.OperationalError("database or disk is full")),
            )
            answer = client.patch(f"/api/images/{hit['id']}", json={"add_tags": ["brand-x"]})
        assert answer.status_code == 507 and "disk" in answer.json()["error"]
        assert "brand-x" not in client.get(f"/api/images/{hit['id']}").json()["tags"]
