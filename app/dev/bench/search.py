"""Search latency against collection size: synthetic points loaded into two temporary
embedded stores, one left as the app leaves it (appendable segments, searched
exhaustively) and one optimised after each step (HNSW graph), queried at each size.

Points and queries follow app/dev/bench/store_data.py (Zipf-distributed tags and terms, a
query near a stored point with three of its terms), generated in vectorised chunks so
100k points take seconds, not a minute. Times are the store query alone; the query
embedding (a few ms) is measured by the system bench.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import numpy as np

from app.dev.bench.measure import p50_p95_ms, rss_mb
from app.dev.bench.store_data import TAGS, VOCAB, WORDS, hybrid, label_rows, unit_rows
from catalog.store.base import DENSE, ImagePoint, SparseVector, StoredImage, point_id
from catalog.store.edge import EdgeStore

SIZES = (1_000, 10_000, 30_000, 100_000)
CHUNK = 5_000
KEEP_PER_CHUNK = 100  # query sources kept per chunk, so the full vector matrix need not be
COMMON_TAG = "tag0"  # on about a quarter of the points (Zipf head)
KINDS = ("dense", "hybrid", "hybrid + tag")


class SizeResult(msgspec.Struct, kw_only=True):
    n: int
    state: str  # "plain" (as the app runs now) or "hnsw" (after optimize)
    latency_ms: dict[str, tuple[float, float]]  # kind → (p50, p95)
    load_s: float  # cumulative load time (plain) or optimise time at this size (hnsw)
    rss_mb: float  # growth of this process's RSS since the bench started: the stores' share
    disk_mb: float
    recall: float  # share of queries whose source point is in the dense or the sparse top 20


def _zipf_p(n: int) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1)
    return p / p.sum()


def chunk(start: int, n: int, dim: int, rng: np.random.Generator) -> tuple[list[ImagePoint], np.ndarray]:
    dense = unit_rows(rng, n, dim)
    focus, labels = unit_rows(rng, n, dim), label_rows(rng, n, dim)
    # Zipf sampling without replacement, vectorised: top-k of log(p) + Gumbel noise
    keys = np.log(_zipf_p(TAGS)) + rng.gumbel(size=(n, TAGS))
    tag_order = np.argsort(-keys, axis=1)
    tag_counts = rng.integers(3, 9, n)
    # terms: Zipf with replacement, duplicates dropped (close to store_data's draw)
    terms = rng.choice(VOCAB, size=(n, 30), p=_zipf_p(VOCAB))
    term_counts = rng.integers(8, 31, n)
    words = rng.choice(WORDS, size=(n, 30))
    points = []
    for i in range(n):
        sha = f"{start + i:064x}"
        row_terms = list(dict.fromkeys(int(t) for t in terms[i, : term_counts[i]]))
        payload = StoredImage(
            sha256=sha,
            paths=[f"album/{(start + i) // 100}/img_{start + i}.jpg"],
            filename=f"img_{start + i}.jpg",
            description=" ".join(words[i]),
            tags=sorted(f"tag{t}" for t in tag_order[i, : tag_counts[i]]),
            width=1024,
            height=768,
            embedding_model="random",
        )
        sparse = SparseVector(indices=sorted(row_terms), values=[1.0] * len(row_terms))
        points.append(
            ImagePoint(
                id=point_id(sha),
                dense=dense[i].tolist(),
                sparse=sparse,
                payload=payload,
                focus=focus[i].tolist(),
                labels=labels[i].tolist(),
            )
        )
    return points, dense


def _disk_mb(path: Path) -> float:
    # blocks actually used: Qdrant preallocates its mmap files sparsely
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file()) / 2**20


def measure(
    store: EdgeStore, sources: list[tuple[np.ndarray, list[int], str]], queries: int, seed: int
) -> tuple[dict[str, tuple[float, float]], float]:
    rng = np.random.default_rng(seed)
    picks = [sources[i] for i in rng.choice(len(sources), size=min(queries, len(sources)), replace=False)]
    noisy = [(v + 0.05 * rng.standard_normal(v.shape)).tolist() for v, _, _ in picks]
    terms = [SparseVector(indices=sorted(t[:3]), values=[1.0] * len(t[:3])) for _, t, _ in picks]
    cases: dict[str, Callable[[int], object]] = {
        "dense": lambda k: store.nearest(DENSE, noisy[k]),
        "hybrid": lambda k: hybrid(store, noisy[k], terms[k]),
        "hybrid + tag": lambda k: hybrid(store, noisy[k], terms[k], tags=[COMMON_TAG]),
    }
    out = {}
    for kind, run in cases.items():
        run(0)  # the first query after a load or optimise touches cold pages
        samples = []
        for k in range(len(picks)):
            start = time.perf_counter()
            run(k)
            samples.append(time.perf_counter() - start)
        out[kind] = p50_p95_ms(samples)
    found = sum(pid in hybrid(store, noisy[k], terms[k]) for k, (_, _, pid) in enumerate(picks))
    return out, found / len(picks)


def _result(
    store: EdgeStore,
    state: str,
    size: int,
    sources: list[tuple[np.ndarray, list[int], str]],
    queries: int,
    seconds: float,
    rss_start: float,
) -> SizeResult:
    latency, recall = measure(store, sources, queries, seed=size + (state == "hnsw"))
    return SizeResult(
        n=size,
        state=state,
        latency_ms=latency,
        load_s=round(seconds, 2),
        rss_mb=rss_mb()[0] - rss_start,
        disk_mb=_disk_mb(store.path),
        recall=recall,
    )


def run(
    sizes: Sequence[int] = SIZES,
    dim: int = 384,
    queries: int = 100,
    log: Callable[[str], None] = print,
) -> list[SizeResult]:
    rng = np.random.default_rng(0)
    rss_start = rss_mb()[0]  # models loaded by an earlier bench in this process are not ours
    results: list[SizeResult] = []
    sources: list[tuple[np.ndarray, list[int], str]] = []
    with tempfile.TemporaryDirectory(prefix="imgdesc-bench-") as tmp:
        plain = EdgeStore.open(Path(tmp) / "plain", dim)
        hnsw = EdgeStore.open(Path(tmp) / "hnsw", dim)
        loaded, load_s = 0, 0.0
        try:
            for size in sorted(sizes):
                while loaded < size:
                    n = min(CHUNK, size - loaded)
                    points, dense = chunk(loaded, n, dim, rng)
                    for i in rng.choice(n, size=min(KEEP_PER_CHUNK, n), replace=False):
                        sources.append((dense[i], points[i].sparse.indices, points[i].id))
                    # one upsert (and one flush) per chunk: the flush dominates small batches
                    # (~0.3 s each here), which would make a 100k load take many minutes
                    start = time.perf_counter()
                    plain.upsert(points)
                    load_s += time.perf_counter() - start
                    hnsw.upsert(points)
                    loaded += n
                results.append(_result(plain, "plain", size, sources, queries, load_s, rss_start))
                start = time.perf_counter()
                hnsw.optimize()
                results.append(
                    _result(hnsw, "hnsw", size, sources, queries, time.perf_counter() - start, rss_start)
                )
                before, after = results[-2], results[-1]
                log(
                    f"search bench: {size:,} points — hybrid p50 {before.latency_ms['hybrid'][0]:.1f} ms, "
                    f"after optimize {after.latency_ms['hybrid'][0]:.1f} ms (optimise {after.load_s:.1f} s)"
                )
        finally:
            plain.close()
            hnsw.close()
    return results
