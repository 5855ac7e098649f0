"""Scaling measurement for docs/SCALE.md: images/s of the local indexer and of the Ray
job with 1 and 2 workers, on the same images, each into a fresh in-memory Qdrant
(qdrant-client local mode). A tool beside the product; no CLI yet.

Model loading is timed apart for the local indexer (its models load once per
process); the Ray rows include starting the workers and loading their models, which
is the job's fixed cost, so `overhead_ms_per_image` is what Ray adds per image on
top of the local indexer's load and describe time, at this number of images.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec
from qdrant_client import QdrantClient

from catalog.embed import DEFAULT_MODEL
from catalog.store.server import ServerStore
from describe.config import DescribeSettings
from describe.describer import Describer
from indexer.distributed.job import Resources, index_to_store
from indexer.distributed.worker import WorkerSpec, default_embedder
from indexer.service import index_folder


class ScalingRow(msgspec.Struct):
    engine: str  # "local" or "ray"
    workers: int
    images: int
    seconds: float  # the run, after model loading for "local"; everything for "ray"
    load_seconds: float  # model loading, timed apart ("local" only)
    images_per_s: float
    overhead_ms_per_image: float = 0.0  # ray only: against the local indexer's load + run


def bench_scaling(
    folder: Path,
    settings: DescribeSettings,
    embedding_model: str = DEFAULT_MODEL,
    workers: Sequence[int] = (1, 2),
    batch_size: int = 4,
) -> list[ScalingRow]:
    """The local indexer, then the Ray job for each worker count (Ray must be
    initialised by the caller, or Ray Data starts a local one)."""
    with tempfile.TemporaryDirectory(prefix="imgdesc-scale-") as tmp:
        start = time.perf_counter()
        describer = Describer(settings)
        describer.load()
        embedder = default_embedder(embedding_model, settings.threads)
        embedder.load()
        load = time.perf_counter() - start
        store = ServerStore.from_client(QdrantClient(":memory:"), "images", embedder.dim)
        start = time.perf_counter()
        summary = index_folder(folder, Path(tmp) / "data", describer, embedder, store)
        seconds = time.perf_counter() - start
        images = summary.get("described", 0)
        local = ScalingRow("local", 1, images, round(seconds, 2), round(load, 2), round(images / seconds, 3))
        rows = [local]
        spec = WorkerSpec(describe=settings, embedding_model=embedding_model)
        for count in workers:
            store = ServerStore.from_client(QdrantClient(":memory:"), "images", embedder.dim)
            resources = Resources(workers=count, batch_size=batch_size)
            result = index_to_store(folder, spec, store, Path(tmp) / f"failures-{count}.jsonl", resources)
            overhead = (result.seconds - local.seconds - local.load_seconds) / max(result.described, 1)
            rows.append(
                ScalingRow(
                    "ray",
                    count,
                    result.described,
                    result.seconds,
                    0.0,
                    round(result.described / result.seconds, 3),
                    round(overhead * 1000, 1),
                )
            )
    return rows
