"""Fault injection: the index journal (SQLite) is damaged (docs/RELIABILITY.md).

Garbled pages used to open fine and fail one query at a time behind a health of "ok"; a
truncated file named no file and no remedy. Now a damaged journal is found when it is
opened (`PRAGMA quick_check`), moved aside into data/index.damaged-<time>/ (never
deleted) and rebuilt: the store's payloads hold every content's sha256, so a walk of the
folder links each file to its point again without describing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import CALLS, FakeStore, HashEmbedder, described, fake_analyzers, make_describer, write_images

from indexer.pipeline import Indexer
from indexer.service import run_once
from indexer.state import IndexState, JournalDamagedError, open_journal


@pytest.fixture(autouse=True)
def _fakes() -> Iterator[None]:
    CALLS.clear()
    with fake_analyzers():
        yield


def _damage(data: Path, how: str) -> Path:
    journal = data / IndexState.FILENAME
    state = IndexState(data)
    state._run("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the main file
    state.close()
    raw = bytearray(journal.read_bytes())
    if how == "garbled":
        raw[8192:16384] = b"\xa5" * 8192  # two pages of rows overwritten
    else:
        raw = raw[: len(raw) // 3]
    journal.write_bytes(bytes(raw))
    return journal


def _rows(data: Path, count: int) -> None:
    state = IndexState(data)
    for n in range(count):  # a few pages of rows
        state.fail_new(f"folder/image-{n:04d}.png", n, n, "", "x" * 100)
    state.close()


@pytest.mark.parametrize("how", ["garbled", "truncated"])
def test_a_damaged_journal_is_an_error_naming_the_file_and_the_remedy(tmp_path: Path, how: str) -> None:
    _rows(tmp_path, 400)
    journal = _damage(tmp_path, how)
    with pytest.raises(JournalDamagedError) as caught:
        IndexState(tmp_path)
    message = caught.value.message
    assert str(journal) in message and "move it aside" in message and "\n" not in message
    assert caught.value.status_code == 503


@pytest.mark.parametrize("how", ["garbled", "truncated"])
def test_a_damaged_journal_is_moved_aside_and_rebuilt_without_describing_again(
    tmp_path: Path, how: str
) -> None:
    root, data = tmp_path / "root", tmp_path / "data"
    names = write_images(root, 5)
    store = FakeStore()
    indexer = Indexer(root, data, make_describer(), HashEmbedder(), store)
    assert run_once(indexer)["described"] == len(names)
    indexer.state.fail_new("ghost.png", 1, 1, "", "x" * 4000)  # rows enough to span pages
    for n in range(300):
        indexer.state.fail_new(f"gone/{n:04d}.png", n, n, "", "y" * 100)
    indexer.close()
    _damage(data, how)
    before = described()

    indexer = Indexer(root, data, make_describer(), HashEmbedder(), store)  # opens it: open_journal
    try:
        (aside,) = data.glob("index.damaged-*")
        assert (aside / IndexState.FILENAME).is_file()  # kept, never deleted
        summary = run_once(indexer)
        assert summary.get("described", 0) == 0 and summary["linked"] == len(names)
        assert described() == before
        status = indexer.status()
        assert (status.indexed, status.pending, status.failed) == (len(names), 0, 0)
    finally:
        indexer.close()


def test_open_journal_leaves_a_sound_journal_alone(tmp_path: Path) -> None:
    _rows(tmp_path, 3)
    state = open_journal(tmp_path)
    try:
        assert state.counts()["failed"] == 3
        assert not list(tmp_path.glob("index.damaged-*"))
    finally:
        state.close()
