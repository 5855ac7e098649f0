"""How the near-duplicate grouping scales: the cost of placing one new image among N
already grouped, and the memory the groups hold, on synthetic fingerprints (random hashes,
1 % of them near copies of another). The numbers in docs/EVALUATION.md ("Near-duplicates
and more like this"). A dev-time measurement, never imported by the product.

    .venv/bin/python tools/families_bench.py [--sizes 10000 100000]

Placing an image (Families.place) is: its six 64-bit hashes looked up in the hash index
(catalog/families/hashindex.py), the 256-bit check of what they find, the links saved in
groups.sqlite. For comparison, the same lookups done by comparing with every stored hash
(numpy, vectorised): what "re-comparing the whole catalog" costs per image.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalog.families.groups import Families  # noqa: E402
from catalog.families.rules import NEAR_COARSE  # noqa: E402
from catalog.store.base import Fingerprint, SparseVector, StoredImage, point_id  # noqa: E402

WINDOWS = 6


class MemoryStore:
    """The reads Families makes, over a dict (the store's own cost is not what is measured)."""

    def __init__(self) -> None:
        self.payloads: dict[str, StoredImage] = {}

    def scroll(self, batch: int = 256) -> Iterator[tuple[str, StoredImage]]:
        yield from list(self.payloads.items())

    def get(self, id: str) -> StoredImage | None:
        return self.payloads.get(id)

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredImage]:
        return {i: self.payloads[i] for i in ids if i in self.payloads}

    def vectors(self, id: str) -> dict[str, list[float] | SparseVector]:
        return {}


def _flip(rng: random.Random, value: int, bits: int, width: int) -> int:
    for bit in rng.sample(range(width), bits):
        value ^= 1 << bit
    return value


def payload(rng: random.Random, n: int, near: StoredImage | None = None) -> StoredImage:
    """A random fingerprint, or one a few bits from `near`'s (a near copy)."""
    if near is not None and near.fingerprint is not None:
        coarse = [_flip(rng, int(h, 16), 4, 64) for h in near.fingerprint.phash]
        fine = [_flip(rng, int(h, 16), 30, 256) for h in near.fingerprint.fine]
    else:
        coarse = [rng.getrandbits(64) for _ in range(WINDOWS)]
        fine = [rng.getrandbits(256) for _ in range(WINDOWS)]
    fingerprint = Fingerprint(phash=[f"{h:016x}" for h in coarse], fine=[f"{h:064x}" for h in fine])
    sha = f"{n:064x}"
    name = f"{n}.jpg"
    return StoredImage(sha256=sha, paths=[name], filename=name, description="", fingerprint=fingerprint)


def filled(size: int, rng: random.Random) -> MemoryStore:
    store = MemoryStore()
    made: list[StoredImage] = []
    for n in range(size):
        near = rng.choice(made) if made and rng.random() < 0.01 else None
        p = payload(rng, n, near)
        made.append(p)
        store.payloads[point_id(p.sha256)] = p
    return store


def measure(size: int, places: int = 300) -> dict[str, float]:
    rng = random.Random(size)
    store = filled(size, rng)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        families = Families(store, Path(tmp))  # type: ignore[arg-type]
        families.sync()
        built = time.perf_counter() - start
        # a restart: the links are saved, nothing is placed again
        start = time.perf_counter()
        again = Families(store, Path(tmp))  # type: ignore[arg-type]
        again.sync()
        restarted = time.perf_counter() - start
        again.close()
        # what the groups hold, traced apart (tracing slows what it traces)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        traced = Families(store, Path(tmp))  # type: ignore[arg-type]
        traced.sync()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        traced.close()
        times, compared = [], []
        for n in range(size, size + places):
            near = rng.choice(list(store.payloads.values())) if rng.random() < 0.1 else None
            p = payload(rng, n, near)
            pid = point_id(p.sha256)
            store.payloads[pid] = p
            start = time.perf_counter()
            families.place(pid, p)
            times.append(time.perf_counter() - start)
            compared.append(families._whole.last_compared + families._windows.last_compared)
        # the lookups alone (what the brute force below does), without the check and the save
        lookups = []
        for p in list(store.payloads.values())[:places]:
            hashes = [int(h, 16) for h in p.fingerprint.phash] if p.fingerprint else []
            start = time.perf_counter()
            families._whole.near_many(hashes[:1], NEAR_COARSE)
            families._windows.near_many(hashes[:1], NEAR_COARSE)
            families._whole.near_many(hashes[1:], NEAR_COARSE)
            lookups.append(time.perf_counter() - start)
        groups = len(families.groups())
        families.close()
    # the same six lookups by comparing with every stored hash
    prints = [p.fingerprint for p in store.payloads.values() if p.fingerprint is not None]
    every = np.array([int(h, 16) for f in prints for h in f.phash], dtype=np.uint64)
    brute = []
    for value in every[:places]:
        start = time.perf_counter()
        for _ in range(WINDOWS):
            np.flatnonzero(np.bitwise_count(every ^ value) <= NEAR_COARSE)
        brute.append(time.perf_counter() - start)
    return {
        "images": size,
        "first grouping s": built,
        "restart s": restarted,
        "place ms (median)": 1000 * statistics.median(times),
        "place ms (p95)": 1000 * float(np.percentile(times, 95)),
        "hashes compared per image": statistics.mean(compared),
        "index lookups ms (median)": 1000 * statistics.median(lookups),
        "brute force ms (median)": 1000 * statistics.median(brute),
        "memory MB": held / 1e6,
        "groups": groups,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    rows = [measure(size) for size in args.sizes]
    print("| " + " | ".join(rows[0]) + " |")
    print("|---" * len(rows[0]) + "|")
    for row in rows:
        print("| " + " | ".join(f"{v:,.0f}" if v >= 100 else f"{v:.2f}" for v in row.values()) + " |")


if __name__ == "__main__":
    main()
