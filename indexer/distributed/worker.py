"""The actor of the describe stage: one resident Describer and embedder per worker
(per GPU, or per slot of CPU threads), fed batches of new contents by Ray Data.

The payload is built by the local indexer's own step (indexer.records: the same
profiles, the same record, the same `PointEncoder`), so a point written here is the
point the local indexer writes for the same bytes; tests/test_indexer_ray.py holds
them equal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from catalog.embed import Embedder, TextEmbedder
from catalog.points import image_vector, point_encoder
from catalog.store.base import ImagePoint, point_id
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.intake import PreparedImage, load_image
from indexer.distributed.source import Source
from indexer.pipeline import failure_reason
from indexer.records import ALT_PROFILE, analyze_each, image_record
from indexer.state import utc_now


def default_embedder(model: str, threads: int) -> TextEmbedder:
    return Embedder(model, threads=threads)


@dataclass(frozen=True)
class WorkerSpec:
    """What each worker builds its models from. Shipped to every node by pickle: the
    factories must be importable there (module-level functions or classes)."""

    describe: DescribeSettings = field(default_factory=DescribeSettings)
    profile: str | None = None
    embedding_model: str = "all-MiniLM-L6-v2"
    make_describer: Callable[[DescribeSettings], Describer] = Describer
    make_embedder: Callable[[str, int], TextEmbedder] = default_embedder


def encode_paths(paths: Sequence[str]) -> str:
    """Every path of one content, as one column value (Arrow has no ragged str lists
    in a numpy batch)."""
    return msgspec.json.encode(list(paths)).decode()


def decode_point(data: bytes) -> ImagePoint:
    return msgspec.msgpack.decode(data, type=ImagePoint)


class DescribeWorker:
    """Ray Data callable class: {sha256, paths, size} → {sha256, path, point, error}.
    `point` is the msgpack of the finished ImagePoint (b"" when the image failed)."""

    def __init__(self, spec: WorkerSpec, source: Source) -> None:
        self.source = source
        self.describer = spec.make_describer(spec.describe)
        self.describer.load(spec.profile)
        self.profile = self.describer.profiles.get(spec.profile or self.describer.settings.profile)
        self.alt_profile = self.describer.profiles.get(ALT_PROFILE)
        self.embedder = spec.make_embedder(spec.embedding_model, spec.describe.threads)
        self.embedder.load()
        self.points = point_encoder(self.embedder)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        shas = [str(s) for s in batch["sha256"]]
        paths = [msgspec.json.decode(str(p), type=list[str]) for p in batch["paths"]]
        errors = [""] * len(shas)
        images: dict[int, tuple[PreparedImage, float]] = {}
        for i, rel in enumerate(p[0] for p in paths):
            start = time.perf_counter()
            try:
                data = self.source.read(rel)
                image = load_image(data, self.describer.settings.limits, name=rel)
            except Exception as exc:  # one bad file never stops the batch
                errors[i] = failure_reason(exc, self.source.full(rel), rel)
                continue
            images[i] = (image, round((time.perf_counter() - start) * 1000, 1))
        described_at = utc_now()
        order = list(images)
        analyses = analyze_each(self.describer, [images[i][0] for i in order], self.profile)
        payloads = []
        images_by_id: dict[str, list[float]] = {}
        for i, analysis in zip(order, analyses, strict=True):
            if isinstance(analysis, Exception):
                errors[i] = failure_reason(analysis)
                continue
            image, decode_ms = images[i]
            payload = image_record(
                self.describer, analysis, image,
                profile=self.profile, alt_profile=self.alt_profile, sha256=shas[i], paths=paths[i],
                size_bytes=int(batch["size"][i]), described_at=described_at,
                embedding_model=self.embedder.name, decode_ms=decode_ms,
            )  # fmt: skip
            payloads.append((i, point_id(shas[i]), payload))
            vector = image_vector(analysis[0].zero_shot)
            if vector is not None:
                images_by_id[point_id(shas[i])] = vector
        encoded = [b""] * len(shas)
        points = self.points.points([(pid, payload) for _, pid, payload in payloads], images_by_id)
        for (i, _, _), point in zip(payloads, points, strict=True):
            encoded[i] = msgspec.msgpack.encode(point)
        return {"sha256": shas, "path": [p[0] for p in paths], "point": encoded, "error": errors}
