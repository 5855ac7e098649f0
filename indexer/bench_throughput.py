"""Indexing throughput against describe-only throughput, on the same images in the
same process, side by side: what the indexer adds to describing (hashing, the alt
text, embedding, thumbnails, the store) should cost little, since hashing and
decoding run ahead of inference and points are written in batches.

`imgdesc bench --system` calls `measure_throughput`; the machine's load average is
recorded with the numbers, since other work on the machine moves them.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import msgspec

from describe.describer import Describer
from describe.files import looks_like_image
from indexer.embed import TextEmbedder
from indexer.service import index_folder
from indexer.store.edge import EdgeStore


class Throughput(msgspec.Struct, kw_only=True):
    images: int
    describe_per_s: float  # describer.describe on each file: decode, analyse, compose
    index_per_s: float  # a one-shot index of the folder into a fresh store, models loaded
    ratio: float  # index_per_s / describe_per_s; the target is >= 0.9
    load_before: tuple[float, float, float]  # os.getloadavg() before and after
    load_after: tuple[float, float, float]


def measure_throughput(
    folder: Path, describer: Describer, embedder: TextEmbedder, work_dir: Path, rounds: int = 2
) -> Throughput:
    """Best of `rounds` for each side, alternating describe-only and indexing so that a
    change in the machine's load hits both. `work_dir` receives a fresh data folder
    (state, thumbnails, embedded store) per round and is left for the caller to remove."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and looks_like_image(p))
    if not files:
        raise ValueError(f"{folder}: no images to measure on")
    describer.describe(files[0])  # warm-up: lazy model parts, caches
    embedder.embed(["warm-up"])
    load_before = os.getloadavg()
    describe_s, index_s = float("inf"), float("inf")
    for n in range(rounds):
        start = time.perf_counter()
        for path in files:
            describer.describe(path)
        describe_s = min(describe_s, time.perf_counter() - start)
        index_s = min(index_s, _index_once(folder, describer, embedder, work_dir / f"round{n}", len(files)))
    describe_rate, index_rate = len(files) / describe_s, len(files) / index_s
    return Throughput(
        images=len(files),
        describe_per_s=round(describe_rate, 2),
        index_per_s=round(index_rate, 2),
        ratio=round(index_rate / describe_rate, 3),
        load_before=load_before,
        load_after=os.getloadavg(),
    )


def _index_once(
    folder: Path, describer: Describer, embedder: TextEmbedder, data: Path, expected: int
) -> float:
    shutil.rmtree(data, ignore_errors=True)
    store = EdgeStore.open(data / "qdrant", embedder.dim)
    try:
        start = time.perf_counter()
        summary = index_folder(folder, data, describer, embedder, store)
        spent = time.perf_counter() - start
    finally:
        store.close()
    described = summary.get("described", 0) + summary.get("linked", 0) + summary.get("failed", 0)
    if described != expected:
        raise RuntimeError(f"indexing looked at {described} of {expected} images: {summary}")
    return spent
