"""Fingerprints and families at the indexer (indexer/fingerprints.py, indexer/pipeline.py):
each image it describes is hashed and placed; points an older imgdesc wrote without a
hash get one at start-up (their files read again, nothing described again, their vectors
and a person's edit kept); removing a file takes it out of its group."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from msgspec.structs import replace
from PIL import Image

from catalog.edits import Patch
from catalog.families.rules import NEAR
from indexer.batch import index_file
from indexer.pipeline import Indexer
from indexer.service import index_folder
from tests.fakes import FakeStore, HashEmbedder, fake_analyzers, make_describer


@pytest.fixture(autouse=True)
def fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


@pytest.fixture()
def root(tmp_path: Path, photos: dict[str, np.ndarray]) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    cat = Image.fromarray(photos["chelsea"])
    cat.save(images / "cat.jpg", quality=92)
    cat.resize((cat.width // 2, cat.height // 2)).save(images / "cat-small.jpg", quality=70)
    Image.fromarray(photos["coffee"]).save(images / "coffee.jpg", quality=92)
    return images


def test_the_indexer_hashes_and_groups_what_it_describes(root: Path, tmp_path: Path) -> None:
    store = FakeStore()
    index_folder(root, tmp_path / "data", make_describer(), HashEmbedder(), store)
    assert all(p.payload.fingerprint is not None for p in store.points.values())
    indexer = Indexer(root, tmp_path / "data", make_describer(), HashEmbedder(), store)
    try:
        indexer.group_images()  # the saved links come back
        [group] = indexer.families.groups()
        names = {store.points[i].payload.filename for i in group.ids}
        assert group.kind == NEAR and names == {"cat.jpg", "cat-small.jpg"}
        (root / "cat-small.jpg").unlink()
        assert index_file(indexer, "cat-small.jpg") == "missing"
        assert indexer.families.groups() == []
    finally:
        indexer.close()


def test_points_from_before_get_fingerprints_keeping_vectors_and_edits(root: Path, tmp_path: Path) -> None:
    store, data = FakeStore(), tmp_path / "data"
    index_folder(root, data, make_describer(), HashEmbedder(), store)
    # as an older imgdesc left them: no fingerprints, nothing grouped yet
    for point in store.points.values():
        point.payload = replace(point.payload, fingerprint=None)
    for leftover in data.glob("groups.sqlite*"):
        leftover.unlink()
    before = {pid: (p.dense, p.sparse, p.labels, p.focus) for pid, p in store.points.items()}
    indexer = Indexer(root, data, make_describer(), HashEmbedder(), store)
    try:
        cat = next(pid for pid, p in store.points.items() if p.payload.filename == "cat.jpg")
        indexer.curator.edit(cat, Patch(add_tags=["brand-x"]))
        edited = {pid: (p.dense, p.sparse, p.labels, p.focus) for pid, p in store.points.items()}
        indexer.group_images()
        assert all(p.payload.fingerprint is not None for p in store.points.values())
        after = {pid: (p.dense, p.sparse, p.labels, p.focus) for pid, p in store.points.items()}
        assert after == edited and set(after) == set(before)  # vectors as they were
        assert "brand-x" in store.points[cat].payload.tags  # the edit kept
        [group] = indexer.families.groups()
        assert {store.points[i].payload.filename for i in group.ids} == {"cat.jpg", "cat-small.jpg"}
    finally:
        indexer.close()
