"""Label phrase vectors persist between runs (catalog/phrase_cache.py): a second
PointEncoder on the same file embeds no phrase it has seen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fakes import HashEmbedder

from catalog import phrase_cache
from catalog.points import LABEL_PHRASE, PointEncoder
from describe.facts import Label

LABELS = (Label("daisy", 0.8, "plant", hypernyms=("flower",)), Label("pot", 0.2, "object"))


def test_a_second_run_embeds_no_phrase_the_first_one_did(tmp_path: Path) -> None:
    file = tmp_path / "cache" / "phrases.npz"
    first = HashEmbedder("counting")
    vector = PointEncoder(first, file).label_vector(LABELS)
    assert set(first.embedded) == {LABEL_PHRASE.format(n) for n in ("daisy", "flower", "pot")}
    assert file.is_file()
    again = HashEmbedder("counting")
    assert PointEncoder(again, file).label_vector(LABELS) == vector
    assert again.embedded == []
    more = (*LABELS, Label("vase", 0.3, "object"))
    PointEncoder(again, file).label_vector(more)
    assert again.embedded == [LABEL_PHRASE.format("vase")]  # only what is new


def test_a_file_for_another_model_or_a_damaged_one_is_ignored(tmp_path: Path) -> None:
    file = tmp_path / "phrases.npz"
    phrase_cache.save(file, "other-model", LABEL_PHRASE, {"daisy": np.ones(4, dtype=np.float32)})
    assert phrase_cache.load(file, "counting", LABEL_PHRASE) == {}
    assert phrase_cache.load(file, "other-model", "{}") == {}  # another phrase template
    file.write_bytes(b"not a numpy archive")
    embedder = HashEmbedder("counting")
    PointEncoder(embedder, file).label_vector(LABELS)
    assert len(embedder.embedded) == 3  # embedded again, and the file rewritten
    assert set(phrase_cache.load(file, "counting", LABEL_PHRASE)) == {"daisy", "flower", "pot"}


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    encoder = PointEncoder(HashEmbedder("counting"), blocked / "phrases.npz")
    assert encoder.label_vector(LABELS) is not None
