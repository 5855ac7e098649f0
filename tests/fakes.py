"""Small stand-ins for the indexer tests: model-free analyzers registered under
fake names (so a real Describer runs them), a hash-based embedder, an in-memory
store, and image writers. Also the body of the crash test's child process."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from catalog.store.base import DENSE, FOCUS, IMAGE, LABELS, SPARSE, ImagePoint, SparseVector, StoredImage
from catalog.store.guarded import GuardedStore
from describe import registry
from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.facts import (
    Caption,
    Colour,
    ColourFacts,
    CompositionFacts,
    Description,
    Facts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    TextFacts,
)
from describe.intake import PreparedImage

#: analyzer name → number of images it looked at (reset by the tests' fixture)
CALLS: Counter[str] = Counter()


class _FakeOptions(AnalyzerOptions):
    delay: float = 0.0  # seconds each image takes


class _Fake(BaseAnalyzer):
    needs_model = False
    Options = _FakeOptions

    def analyze(self, image: PreparedImage, facts: Facts | None = None) -> Any:
        CALLS[self.name] += 1
        delay = self.opts.delay
        if delay:
            time.sleep(delay)  # stands in for model time in the crash and partial-write tests
        return super().analyze(image, facts)


def _mean(image: PreparedImage) -> np.ndarray:
    return image.rgb.reshape(-1, 3).mean(axis=0)


class FakeColours(_Fake):
    name = "fake-colours"
    produces = "colours"

    def _analyze(self, image: PreparedImage, facts: Facts) -> ColourFacts:
        r, g, b = (int(v) for v in _mean(image))
        family = (
            "gray"
            if max(r, g, b) - min(r, g, b) < 20
            else ("red", "green", "blue")[int(np.argmax((r, g, b)))]
        )
        return ColourFacts(palette=(Colour(family, family, f"#{r:02x}{g:02x}{b:02x}", 1.0),))


class FakeLabels(_Fake):
    name = "fake-labels"
    produces = "labels"

    def _analyze(self, image: PreparedImage, facts: Facts) -> LabelFacts:
        name = "sky" if _mean(image).mean() > 128 else "night"
        return LabelFacts(labels=(Label(name, 0.9, "other"),))


class FakeObjects(_Fake):
    name = "fake-objects"
    produces = "objects"

    def _analyze(self, image: PreparedImage, facts: Facts) -> ObjectFacts:
        return ObjectFacts()


class FakeText(_Fake):
    name = "fake-text"
    produces = "text"

    def _analyze(self, image: PreparedImage, facts: Facts) -> TextFacts:
        return TextFacts()


class FakeComposition(_Fake):
    name = "fake-composition"
    produces = "composition"

    def _analyze(self, image: PreparedImage, facts: Facts) -> CompositionFacts:
        w, h = image.width, image.height
        orientation = "square" if w == h else ("landscape" if w > h else "portrait")
        brightness = float(image.rgb.mean() / 255)
        return CompositionFacts(orientation, round(w / h, 2), brightness, 0.2, 0.5, 100.0, False, "balanced")


class FakeCaption(_Fake):
    name = "fake-caption"
    produces = "caption"
    requires = ("colours",)

    def _analyze(self, image: PreparedImage, facts: Facts) -> Caption:
        colours = facts.colours
        shade = colours.palette[0].hex if colours else "unknown"
        return Caption(f"a test card in shade {shade}", self.name)


FAKES: tuple[type[_Fake], ...] = (
    FakeColours, FakeLabels, FakeObjects, FakeText, FakeComposition, FakeCaption,
)  # fmt: skip
FAKE_USE = {f: f"fake-{f}" for f in ("objects", "labels", "text", "colours", "composition")}


@contextlib.contextmanager
def fake_analyzers() -> Iterator[None]:
    """Register the fakes for the length of a test, so registry name lists seen by
    other tests (e.g. "valid: ..." messages) stay free of them."""
    # discover the built-ins first, as the app would; one missing from a partial
    # checkout does not matter, the fakes replace them all
    with contextlib.suppress(ImportError):
        registry.names()
    for cls in FAKES:
        registry.register(cls.name)(cls)
    try:
        yield
    finally:
        for cls in FAKES:
            registry.unregister(cls.name)


def make_describer(delay: float = 0.0) -> Describer:
    """A real Describer whose analyzers are the fakes (inside fake_analyzers())."""
    settings = DescribeSettings(
        use=FAKE_USE, captioner="fake-caption", analyzers={"fake-colours": {"delay": delay}}
    )
    return Describer(settings)


class DescribeGate:
    """Holds every describe() of a describer until open(): the lane tests fill the
    model lane with it and wait on `entered`, never on time."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.entered = threading.Event()  # a describe reached the gate
        self.timeout = timeout  # a failing test must not hang the suite
        self._open = threading.Event()

    def hold(self, describer: Describer) -> Describer:
        original = describer.describe

        def held(*args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            self._open.wait(self.timeout)
            return original(*args, **kwargs)

        describer.describe = held  # type: ignore[method-assign]
        return describer

    def open(self) -> None:
        self._open.set()


def described() -> int:
    """How many images the fake describer has analysed since the last CALLS.clear()."""
    return CALLS["fake-caption"]


class HashEmbedder:
    """Deterministic bag-of-words vectors: similar texts get similar vectors."""

    def __init__(self, name: str = "fake-embed", dim: int = 16) -> None:
        self.name = name
        self._dim = dim
        self.calls = 0
        self.embedded: list[str] = []  # every text asked for, in order

    @property
    def dim(self) -> int:
        return self._dim

    def load(self) -> None:
        pass

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        self.embedded += texts
        return [self._one(t) for t in texts]

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self._dim
        for word in text.lower().split():
            digest = hashlib.blake2b(word.encode(), digest_size=2).digest()
            vec[digest[0] % self._dim] += 1.0 if digest[1] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]


class FakeStore:
    """The Store protocol over a dict; enough for the pipeline's behaviour."""

    def __init__(self) -> None:
        self.points: dict[str, ImagePoint] = {}
        self.upserts = 0
        self._lock = threading.Lock()

    def upsert(self, points: Sequence[ImagePoint]) -> None:
        with self._lock:
            for point in points:
                self.points[point.id] = point
                self.upserts += 1

    def set_paths(self, id: str, paths: list[str]) -> None:
        with self._lock:
            point = self.points[id]
            point.payload.paths = list(paths)
            point.payload.filename = Path(paths[0]).name

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            for id in ids:
                self.points.pop(id, None)

    def get(self, id: str) -> StoredImage | None:
        point = self.points.get(id)
        return point.payload if point else None

    def image_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        with self._lock:
            found = [(id, self.points.get(id)) for id in ids]
        return {id: list(p.image) for id, p in found if p is not None and p.image is not None}

    def vectors(self, id: str) -> dict[str, list[float] | SparseVector]:
        point = self.points.get(id)
        if point is None:
            return {}
        named = {DENSE: point.dense, FOCUS: point.focus, LABELS: point.labels, IMAGE: point.image}
        found: dict[str, list[float] | SparseVector] = {n: list(v) for n, v in named.items() if v is not None}
        found[SPARSE] = point.sparse
        return found

    def set_image_vectors(self, vectors: Sequence[tuple[str, list[float]]], model: str) -> None:
        with self._lock:
            for id, vector in vectors:
                if id in self.points:
                    point = self.points[id]
                    point.image = list(vector)
                    point.payload.image_model = model

    def nearest_views(
        self,
        queries: Sequence[tuple[str, list[float] | SparseVector]],
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[list[tuple[str, float]]]:
        return [self.nearest(using, vector, tags, limit, not_tags=not_tags) for using, vector in queries]

    def nearest(
        self,
        using: str,
        vector: list[float] | SparseVector,
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        scored = []
        for id, point in list(self.points.items()):
            if not _tagged(point.payload, tags, not_tags):
                continue
            score = _score(point, using, vector)
            if score is not None:
                scored.append((id, score))
        return sorted(scored, key=lambda hit: -hit[1])[:limit]

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredImage]:
        return {id: self.points[id].payload for id in ids if id in self.points}

    def facets(
        self, tags: Sequence[str] = (), limit: int = 50, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, int]]:
        counts = Counter(
            t for p in self.points.values() if _tagged(p.payload, tags, not_tags) for t in p.payload.tags
        )
        return counts.most_common(limit)

    def count(self, tags: Sequence[str] = (), *, not_tags: Sequence[str] = ()) -> int:
        return sum(1 for p in self.points.values() if _tagged(p.payload, tags, not_tags))

    def latest(
        self, tags: Sequence[str] = (), limit: int = 20, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, StoredImage]]:
        found = [(id, p.payload) for id, p in list(self.points.items()) if _tagged(p.payload, tags, not_tags)]
        return sorted(found, key=lambda item: item[1].indexed_at, reverse=True)[:limit]

    def scroll(self, batch: int = 256, tags: Sequence[str] = ()) -> Iterator[tuple[str, StoredImage]]:
        wanted = set(tags)
        yield from ((id, p.payload) for id, p in list(self.points.items()) if wanted <= set(p.payload.tags))

    def optimize(self) -> bool:
        return False  # nothing to build in a dict

    def close(self) -> None:
        pass


def _tagged(payload: StoredImage, tags: Sequence[str], not_tags: Sequence[str]) -> bool:
    """Carries every tag in `tags` and none in `not_tags`, as the stores' filters say."""
    return set(tags) <= set(payload.tags) and not set(not_tags) & set(payload.tags)


def _score(point: ImagePoint, using: str, query: list[float] | SparseVector) -> float | None:
    """As Qdrant scores the view: cosine for DENSE and FOCUS, dot for LABELS, a plain
    sparse dot product (no IDF) for SPARSE; None when the point lacks the vector or
    shares no term with the query."""
    if using == SPARSE:
        assert isinstance(query, SparseVector)
        weights = dict(zip(point.sparse.indices, point.sparse.values, strict=True))
        shared = [(i, v) for i, v in zip(query.indices, query.values, strict=True) if i in weights]
        return sum(v * weights[i] for i, v in shared) if shared else None
    assert not isinstance(query, SparseVector)
    stored = {DENSE: point.dense, FOCUS: point.focus, LABELS: point.labels}[using]
    if stored is None:
        return None
    dot = sum(a * b for a, b in zip(query, stored, strict=True))
    if using == LABELS:
        return dot
    norms = math.sqrt(sum(a * a for a in query)) * math.sqrt(sum(b * b for b in stored))
    return dot / norms if norms else 0.0


def image_bytes(seed: int, size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> bytes:
    """A distinct small image per seed (a gradient with a seed-dependent colour)."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 256, 3)
    ramp = np.linspace(0, 60, w)[None, :, None]
    pixels = np.clip(base[None, None, :] + ramp + rng.integers(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def write_images(root: Path, count: int, start: int = 0, sub: str = "") -> list[str]:
    """`count` distinct PNGs under root/sub; returns their relative paths."""
    (root / sub).mkdir(parents=True, exist_ok=True)
    rels = []
    for seed in range(start, start + count):
        rel = f"{sub}/img{seed:03d}.png" if sub else f"img{seed:03d}.png"
        (root / rel).write_bytes(image_bytes(seed))
        rels.append(rel)
    return rels


def crash_child(root: str, data_dir: str, delay: str) -> None:
    """The crash test's child: index `root` slowly into a real EdgeStore until killed
    (or done). Prints one line per finished file so the parent knows when to kill."""
    from catalog.store.edge import EdgeStore
    from indexer import batch
    from indexer.watch import index_folder

    # batches close several times within the slow run (30 files, `delay` each), so the
    # kill lands after some batches were written and before the last one
    batch.MAX_WAIT = 0.3
    embedder = HashEmbedder()
    store = EdgeStore.open(Path(data_dir) / "qdrant", embedder.dim)
    with fake_analyzers():
        summary = index_folder(
            root, data_dir, make_describer(float(delay)), embedder, store,
            progress=lambda done, total, path: print(f"{done}/{total} {path}", flush=True),
        )  # fmt: skip
    store.close()
    print("SUMMARY " + json.dumps(summary), flush=True)


def make_description(
    caption: str,
    *,
    tags: Sequence[str] = (),
    labels: Sequence[Label] = (),
    objects: Sequence[ObjectCount] = (),
    text: str = "",
    rest: str = " The picture is horizontal.",
) -> Description:
    """A classic-looking Description for tests of what is built from one (points, search):
    the paragraph is the caption plus `rest`."""
    return Description(
        description=caption + rest,
        tags=list(tags),
        tag_details=[],
        colors=[],
        composition=None,
        objects=list(objects),
        labels=list(labels),
        text=text,
        caption=caption,
        captioner="classic",
        profile="default",
        width=640,
        height=480,
        timings_ms={},
    )


def guarded_edge_store(data_dir: Path, dim: int = 16) -> GuardedStore:
    """A real embedded store in data_dir/qdrant behind the GuardedStore every way in
    holds, able to be rebuilt in place (as catalog/factory.py opens it)."""
    from catalog.store.edge import EdgeStore

    folder = data_dir / "qdrant"
    return GuardedStore(
        EdgeStore.open(folder, dim), reopen=lambda: EdgeStore.open(folder, dim), folder=folder
    )
