"""Fault injection: file names the OS allows and text tools do not (docs/RELIABILITY.md).

Linux allows any bytes but / and NUL in a name. Invalid UTF-8 broke the indexer worker
and left the files being read ahead pending for minutes; newlines, bidi marks and
255-byte names are legal too. Each such file is indexed (or failed with a reason), and
an error in one file's processing never leaves the others pending.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import waiting
from fakes import CALLS, FakeStore, HashEmbedder, fake_analyzers, image_bytes, make_describer, write_images

from catalog.names import on_disk
from indexer.watch import Watcher

TIMEOUT = 30.0
HOSTILE = [
    b"bad\xff\xfe.png",  # not UTF-8
    b"two\nlines.png",
    "\u202ecod.exe\u202d.png".encode(),  # right-to-left override, as in spoofed names
    b"x" * 251 + b".png",  # 255 bytes, the most ext4 allows
]


@pytest.fixture(autouse=True)
def _fakes() -> Iterator[None]:
    CALLS.clear()
    with fake_analyzers():
        yield


def test_hostile_names_among_good_files_are_all_indexed_and_none_is_left_pending(tmp_path: Path) -> None:
    root, data = tmp_path / "root", tmp_path / "data"
    good = write_images(root, 6)
    names = [os.fsdecode(raw) for raw in HOSTILE]
    for n, name in enumerate(names):
        (root / name).write_bytes(image_bytes(100 + n))
    store = FakeStore()
    watcher = Watcher.create(root, data, make_describer(), HashEmbedder(), store, stable_seconds=0.2)
    watcher.start()
    try:
        total = len(good) + len(names)
        waiting.wait_for(lambda: watcher.status().indexed == total, TIMEOUT)
        status = watcher.status()
        assert (status.pending, status.failed) == (0, 0)
        stored = {p for point in store.points.values() for p in point.payload.paths}
        assert {on_disk(p) for p in stored} == set(good) | set(names)  # each found again on disk
        assert all(p.encode("utf-8") for p in stored)  # storable: valid UTF-8 everywhere
    finally:
        watcher.stop()


def test_an_error_in_one_files_processing_fails_that_file_and_the_rest_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer import pipeline

    root, data = tmp_path / "root", tmp_path / "data"
    good = write_images(root, 5)
    odd = os.fsdecode(b"bad\xff\xfe.png")
    shutil.copy(root / good[0], root / odd)
    (root / good[0]).write_bytes(image_bytes(77))
    real = pipeline.Indexer._prepare

    def breaks_on_the_odd_one(self: pipeline.Indexer, rel: str) -> pipeline.Prepared:
        if rel == odd:
            raise UnicodeEncodeError("utf-8", rel, 3, 4, "surrogates not allowed")  # what state.get raised
        return real(self, rel)

    monkeypatch.setattr(pipeline.Indexer, "_prepare", breaks_on_the_odd_one)
    store = FakeStore()
    watcher = Watcher.create(root, data, make_describer(), HashEmbedder(), store, stable_seconds=0.2)
    watcher.start()
    try:
        waiting.wait_for(lambda: watcher.status().indexed == len(good), TIMEOUT)
        waiting.wait_for(lambda: watcher.status().failed == 1, TIMEOUT)
        status = watcher.status()
        assert status.pending == 0
        (failure,) = status.failures
        assert "surrogates not allowed" in failure.error
    finally:
        watcher.stop()
