"""Load N random points into a temporary embedded store and time it.

    python -m indexer.store.bench --n 20000

Reports load time (and how much of it is the flush after each batch), the cost of a
one-point upsert, reopen time, and p50/p95 query latency (dense only, hybrid — the dense
and sparse nearest neighbours, as search fuses them — and all four views, with and without
a tag filter) before and after `optimize()` builds the HNSW graph.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from indexer.store.base import (
    DENSE,
    FOCUS,
    LABELS,
    SPARSE,
    ImagePoint,
    SparseVector,
    Store,
    StoredImage,
    point_id,
)
from indexer.store.edge import EdgeStore, _to_point

TAGS = 60  # distinct tags, drawn with Zipf-like frequencies like real ones
VOCAB = 20_000  # sparse term ids
WORDS = ["cat", "dog", "tree", "red", "blue", "car", "street", "sky", "person", "food", "water"]


def _zipf(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1)
    return rng.choice(n, size=size, replace=False, p=p / p.sum())


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def label_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    # a label distribution's vector is not normalised: its length is the confidence
    return unit_rows(rng, n, dim) * rng.uniform(0.2, 1.0, (n, 1)).astype(np.float32)


def hybrid(store: Store, dense: list[float], sparse: SparseVector, tags: Sequence[str] = ()) -> set[str]:
    """The store's share of a hybrid search: the dense and the sparse nearest neighbours
    (search fuses them in Python); the ids of both, the candidates a fusion sees."""
    found = store.nearest(DENSE, dense, tags) + store.nearest(SPARSE, sparse, tags)
    return {id for id, _ in found}


def make_points(n: int, dim: int, seed: int = 0) -> tuple[list[ImagePoint], np.ndarray]:
    rng = np.random.default_rng(seed)
    dense = unit_rows(rng, n, dim)
    focus, labels = unit_rows(rng, n, dim), label_rows(rng, n, dim)
    points = []
    for i in range(n):
        sha = f"{i:064x}"
        tags = sorted(f"tag{t}" for t in _zipf(rng, TAGS, int(rng.integers(3, 9))))
        terms = _zipf(rng, VOCAB, int(rng.integers(8, 31)))
        weights = rng.uniform(0.5, 2.0, len(terms))
        description = " ".join(rng.choice(WORDS, 30))
        payload = StoredImage(
            sha256=sha,
            paths=[f"album/{i // 100}/img_{i}.jpg"],
            filename=f"img_{i}.jpg",
            description=description,
            tags=tags,
            width=1024,
            height=768,
            embedding_model="random",
        )
        sparse = SparseVector(indices=[int(t) for t in terms], values=[float(w) for w in weights])
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


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1e3:7.2f} ms   p95 {p95 * 1e3:7.2f} ms"


def _time(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _queries(store: EdgeStore, points: list[ImagePoint], dense: np.ndarray, count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(points), size=count, replace=False)
    # a query near a stored point, with three of its terms: a realistic, answerable query
    noisy = dense[picks] + 0.05 * rng.standard_normal((count, dense.shape[1])).astype(np.float32)
    vectors = [v.tolist() for v in noisy]
    terms = [SparseVector(indices=points[i].sparse.indices[:3], values=[1.0] * 3) for i in picks]
    common = ["tag0"]  # on about a quarter of the points
    narrow = ["tag1", "tag5"]  # both: a few percent of them

    def views(k: int) -> object:
        # what a search asks of the store: every view, the query's embedding for the dense ones
        return [store.nearest(using, vectors[k]) for using in (DENSE, FOCUS, LABELS)] + [
            store.nearest(SPARSE, terms[k])
        ]

    cases: dict[str, Callable[[int], object]] = {
        "dense": lambda k: store.nearest(DENSE, vectors[k]),
        "dense + tag": lambda k: store.nearest(DENSE, vectors[k], tags=common),
        "hybrid": lambda k: hybrid(store, vectors[k], terms[k]),
        "hybrid + tag": lambda k: hybrid(store, vectors[k], terms[k], tags=common),
        "hybrid + 2 tags": lambda k: hybrid(store, vectors[k], terms[k], tags=narrow),
        "4 views": views,
    }
    found = sum(points[i].id in hybrid(store, vectors[k], terms[k]) for k, i in enumerate(picks))
    for name, run in cases.items():
        samples = []
        for k in range(count):
            start = time.perf_counter()
            run(k)
            samples.append(time.perf_counter() - start)
        print(f"    {name:16} {_ms(samples)}")
    print(f"    recall@20 of the source point (dense or sparse top 20): {found / count:.0%}")
    print(f"    facets (all):    {_ms(_time(lambda: store.facets(), 20))}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--no-optimize", action="store_true", help="skip building the HNSW graph")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    points, dense = make_points(args.n, args.dim)
    print(f"{args.n} points, {args.dim}-d, generated in {time.perf_counter() - start:.1f} s")

    with tempfile.TemporaryDirectory(prefix="imgdesc-bench-") as tmp:
        path = Path(tmp)
        store = EdgeStore.open(path, args.dim)
        start = time.perf_counter()
        for i in range(0, args.n, args.batch):
            store.upsert(points[i : i + args.batch])
        load_s = time.perf_counter() - start
        # the flush share: the same batch re-upserted through the shard, with and without flush
        shard = store._shard
        op = qe.UpdateOperation.upsert_points([_to_point(p) for p in points[: args.batch]])
        update_only = _time(lambda: shard.update(op), 5)

        def update_and_flush() -> None:
            shard.update(op)
            shard.flush()

        flush_only = _time(update_and_flush, 5)
        print(f"load ({args.batch}/batch, flushed): {load_s:.1f} s  ({args.n / load_s:,.0f} points/s)")
        print(
            f"  per {args.batch}-point batch: update {statistics.median(update_only) * 1e3:.1f} ms, "
            f"update+flush {statistics.median(flush_only) * 1e3:.1f} ms"
        )
        one = _time(lambda: store.upsert(points[:1]), 20)
        print(f"  one-point upsert + flush:   {_ms(one)}")

        print("queries, plain segments (exhaustive dense search):")
        _queries(store, points, dense, args.queries, seed=1)

        if not args.no_optimize:
            start = time.perf_counter()
            store.optimize()
            print(f"optimize (HNSW build): {time.perf_counter() - start:.1f} s")
            print("queries, optimized (HNSW):")
            _queries(store, points, dense, args.queries, seed=2)

        store.close()
        start = time.perf_counter()
        store = EdgeStore.open(path, args.dim)
        print(f"reopen: {(time.perf_counter() - start) * 1e3:.0f} ms  ({store.count()} points)")
        start = time.perf_counter()
        hybrid(store, points[0].dense, points[0].sparse)
        print(f"first query after reopen: {(time.perf_counter() - start) * 1e3:.1f} ms")
        store.close()
        files = [f.stat() for f in path.rglob("*") if f.is_file()]
        used, apparent = sum(st.st_blocks * 512 for st in files), sum(st.st_size for st in files)
        # Qdrant preallocates its mmap files sparsely: the apparent size is mostly holes
        print(f"on disk: {used / 2**20:.0f} MiB used ({apparent / 2**20:.0f} MiB apparent)")


if __name__ == "__main__":
    main()
