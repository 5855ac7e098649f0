"""Search latency, memory and recall against collection size: synthetic points loaded
into one temporary embedded store, measured as the app leaves it before `optimize()`
(appendable segments, searched exhaustively) and after (HNSW graph on int8 copies,
floats on disk), each time in a fresh process that opens the store and queries it.

Points and queries follow app/dev/bench/store_data.py (Zipf-distributed tags and terms, a
query near a stored point with three of its terms), generated in vectorised chunks so
100k points take seconds, not a minute. Times are the store query alone; the query
embedding (a few ms) is measured by the system bench.

Recall: a query is its source point's dense vector plus noise (cosine ≈ 0.7 to it, ≈ 0
to the rest), so the source is always the exact nearest neighbour. `recall` is the share
of queries whose source is in the dense view's approximate top 20 (did the graph walk
find the image, "1@20"); `recall_exact` is the overlap of that top 20 with the exact
(brute-force, float) top 20. On random vectors ranks 2 to 20 are near ties (cosines
within noise of each other), so the second understates what structured embeddings get.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import numpy as np

from app.dev.bench.measure import in_fresh_process, p50_p95_ms
from app.dev.bench.store_data import TAGS, VOCAB, WORDS, app_views, exact_dense, label_rows, unit_rows
from catalog.store.base import DENSE, ImagePoint, SparseVector, StoredImage, point_id
from catalog.store.edge import EdgeStore

SIZES = (1_000, 10_000, 30_000, 100_000)
CHUNK = 5_000
KEEP_PER_CHUNK = 100  # query sources kept per chunk, so the full vector matrix need not be
COMMON_TAG = "tag0"  # on about a quarter of the points (Zipf head)
KINDS = ("dense", "hybrid", "hybrid + tag")
Sources = list[tuple[list[float], list[int], str]]  # (dense vector, terms, id) of query sources


class SizeResult(msgspec.Struct, kw_only=True):
    n: int
    state: str  # "plain" (before optimize) or "hnsw" (after, as the app keeps it)
    latency_ms: dict[str, tuple[float, float]]  # kind → (p50, p95)
    load_s: float  # cumulative load time (plain) or optimise time at this size (hnsw)
    rss_mb: float  # resident memory the open store adds to a fresh process, after the queries
    rss_anon_mb: float = float("nan")  # of which heap (the rest: mapped files in the page cache)
    disk_mb: float
    recall: float  # share of queries whose source point is in the dense top 20
    recall_exact: float = float("nan")  # overlap of the dense top 20 with the exact top 20


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


def measure(path: Path, dim: int, sources: Sources, queries: int, seed: int) -> dict[str, object]:
    """Open the store at `path` in this (fresh) process and query it: latencies, recall and
    what the store added to the process's resident memory."""
    before = _status()
    rng = np.random.default_rng(seed)
    picks = [sources[i] for i in rng.choice(len(sources), size=min(queries, len(sources)), replace=False)]
    noisy = [(np.asarray(v) + 0.05 * rng.standard_normal(dim)).tolist() for v, _, _ in picks]
    terms = [SparseVector(indices=sorted(t[:3]), values=[1.0] * len(t[:3])) for _, t, _ in picks]
    with EdgeStore.open(path, dim) as store:
        cases: dict[str, Callable[[int], object]] = {
            "dense": lambda k: store.nearest(DENSE, noisy[k]),
            "hybrid": lambda k: app_views(store, noisy[k], terms[k]),
            "hybrid + tag": lambda k: app_views(store, noisy[k], terms[k], tags=[COMMON_TAG]),
        }
        latency = {}
        for kind, run in cases.items():
            run(0)  # the first query after opening touches cold pages
            samples = []
            for k in range(len(picks)):
                start = time.perf_counter()
                run(k)
                samples.append(time.perf_counter() - start)
            latency[kind] = p50_p95_ms(samples)
        found = [[pid for pid, _ in store.nearest(DENSE, noisy[k])] for k in range(len(picks))]
        after = _status()  # before the exact searches, which read every vector
        exact = [exact_dense(store, noisy[k], 20) for k in range(len(picks))]
    return {
        "latency_ms": latency,
        "rss_mb": (after["VmRSS"] - before["VmRSS"]) / 1024,
        "rss_anon_mb": (after["RssAnon"] - before["RssAnon"]) / 1024,
        "recall": float(np.mean([pid in top for top, (_, _, pid) in zip(found, picks, strict=True)])),
        "recall_exact": float(
            np.mean([len(set(a) & set(b)) / 20 for a, b in zip(found, exact, strict=True)])
        ),
    }


def _status() -> dict[str, int]:
    """kB fields of /proc/self/status: VmRSS = RssAnon (heap) + RssFile (mapped files) + RssShmem."""
    fields = dict(line.partition(":")[::2] for line in Path("/proc/self/status").read_text().splitlines())
    return {k: int(fields[k].split()[0]) for k in ("VmRSS", "RssAnon", "RssFile")}


def _measured(
    state: str, size: int, path: Path, dim: int, sources: Sources, queries: int, seconds: float
) -> SizeResult:
    # a fresh process: what the store costs a server that opens it, not what this one holds
    found = in_fresh_process(measure, path, dim, sources, queries, size + (state == "hnsw"))
    return SizeResult(n=size, state=state, load_s=round(seconds, 2), disk_mb=_disk_mb(path), **found)  # type: ignore[arg-type]


def run(
    sizes: Sequence[int] = SIZES,
    dim: int = 384,
    queries: int = 100,
    log: Callable[[str], None] = print,
) -> list[SizeResult]:
    rng = np.random.default_rng(0)
    results: list[SizeResult] = []
    sources: Sources = []
    with tempfile.TemporaryDirectory(prefix="imgdesc-bench-") as tmp:
        path = Path(tmp) / "store"
        loaded, load_s = 0, 0.0
        for size in sorted(sizes):
            with EdgeStore.open(path, dim) as store:
                while loaded < size:
                    n = min(CHUNK, size - loaded)
                    points, dense = chunk(loaded, n, dim, rng)
                    for i in rng.choice(n, size=min(KEEP_PER_CHUNK, n), replace=False):
                        sources.append((dense[i].tolist(), points[i].sparse.indices, points[i].id))
                    # one upsert (and one flush) per chunk: the flush dominates small batches
                    # (~0.3 s each here), which would make a 100k load take many minutes
                    start = time.perf_counter()
                    store.upsert(points)
                    load_s += time.perf_counter() - start
                    loaded += n
            results.append(_measured("plain", size, path, dim, sources, queries, load_s))
            with EdgeStore.open(path, dim) as store:
                start = time.perf_counter()
                store.optimize()
                optimise_s = time.perf_counter() - start
            results.append(_measured("hnsw", size, path, dim, sources, queries, optimise_s))
            before, after = results[-2], results[-1]
            log(
                f"search bench: {size:,} points — hybrid + tag p95 "
                f"{before.latency_ms['hybrid + tag'][1]:.1f} ms, after optimize "
                f"{after.latency_ms['hybrid + tag'][1]:.1f} ms (optimise {optimise_s:.1f} s), "
                f"resident {after.rss_mb:.0f} MB, recall@20 {after.recall:.2f}"
            )
    return results
