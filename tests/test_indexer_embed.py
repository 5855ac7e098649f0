"""A search's query embedding goes before the rest of an indexer batch (issue 10,
item 3): batches are encoded in chunks, and a waiting query takes the next turn."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from catalog.embed import BATCH_CHUNK, Embedder
from tests.fake_app import wait_for


class HeldModel:
    """Stands in for the sentence-transformers model: records each encode call and
    holds the first one until released."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            self.first_started.set()
            assert self.release.wait(30)
        return np.ones((len(texts), 4), dtype=np.float32)


def test_a_query_waits_for_one_chunk_of_a_batch_not_the_whole_batch() -> None:
    embedder, model = Embedder("held"), HeldModel()
    embedder._model = model  # loaded: load() keeps it
    batch = [f"document {i}" for i in range(3 * BATCH_CHUNK)]
    vectors: list[list[float]] = []
    indexer = threading.Thread(target=lambda: vectors.extend(embedder.embed(batch)))
    indexer.start()
    assert model.first_started.wait(30)
    query: list[float] = []
    search = threading.Thread(target=lambda: query.extend(embedder.embed_one("red car")))
    search.start()
    wait_for(lambda: embedder._queries_waiting == 1)  # the query is queued behind the first chunk
    model.release.set()
    search.join(30)
    indexer.join(30)
    assert [len(c) for c in model.calls] == [BATCH_CHUNK, 1, BATCH_CHUNK, BATCH_CHUNK]
    assert model.calls[1] == ["red car"]
    assert len(vectors) == len(batch) and len(query) == 4


class LengthModel:
    """Encodes a text as (its length, 1, 0, 0) and records the chunks it is sent."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32)


def test_a_batch_is_encoded_in_chunks_of_similar_length_and_answered_in_order() -> None:
    embedder, model = Embedder("lengths"), LengthModel()
    embedder._model = model
    batch = ["x" * n for n in (40, 3, 25, 7, 31, 1, 18, 12, 50, 2, 9, 33)]
    vectors = embedder.embed(batch)
    assert [int(v[0]) for v in vectors] == [len(t) for t in batch]  # each text its own vector
    longest_first_chunk = max(len(t) for t in model.calls[0])
    assert all(len(t) >= longest_first_chunk for t in model.calls[1])  # short with short
    assert sorted(len(t) for call in model.calls for t in call) == sorted(len(t) for t in batch)


def test_a_short_text_is_not_padded_to_a_long_one() -> None:
    """An image's focus sentence and its recall document (catalog/points.py), sent in one
    call, go to the model in two: padded together, the sentence costs as much as the
    document. Texts of about the same length still share a chunk."""
    embedder, model = Embedder("lengths"), LengthModel()
    embedder._model = model
    document, sentence = "x" * 240, "y" * 48
    vectors = embedder.embed([document, sentence])
    assert model.calls == [[sentence], [document]]
    assert [int(v[0]) for v in vectors] == [240, 48]
    model.calls.clear()
    embedder.embed(["a" * 100, "b" * 150, "c" * 190, "d" * 5, "e" * 12])
    assert [[len(t) for t in call] for call in model.calls] == [[5, 12], [100, 150, 190]]


def test_the_embedder_runs_on_one_thread_whatever_the_describer_has(monkeypatch: Any) -> None:
    import catalog.factory as factory
    from catalog.settings import CatalogSettings
    from describe.config import DescribeSettings

    made: dict[str, Any] = {}

    class Recorded:
        def __init__(self, model: str, threads: int | None = None) -> None:
            made["threads"] = threads

        def load(self) -> None:
            pass

    monkeypatch.setattr(factory, "Embedder", Recorded)
    monkeypatch.setattr(factory, "active_tagger", lambda describer: None)
    factory.load_models(CatalogSettings(describe=DescribeSettings(threads=2)), describe=False)
    assert made == {"threads": 1}
