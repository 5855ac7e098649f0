"""Which stored 64-bit hashes lie within a Hamming radius of a new one, without comparing
it with all of them: multi-index hashing (Norouzi, Punjani and Fleet 2012).

Each hash is cut into BANDS bands of 16 bits. Two hashes at most r bits apart agree within
⌊r / BANDS⌋ bits on at least one band (pigeonhole), so the candidates are the entries whose
band value is one of the few values that close to the query's, in any band; only those
are compared in full. With r = 10 that is the 137 values within 2 bits of each of the 4
band values: each looked up in a table of where its run starts among the rows sorted by
that band, so a query costs 548 lookups and compares what they find, about 0.8 % of
uniformly spread hashes (docs/EVALUATION.md measures it on 100,000 images). Queries go
many at a time (`near_many`), all in array operations.

Entries are numpy arrays: 8 bytes for the hash, 4 for its owner, 2 for its tag and life, 4
per band for its row, plus 512 KB per band for the run table. New entries wait in a short
list that every query scans, and are merged into the sorted bands once it is long;
removed entries are marked and dropped at the next merge.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np

BANDS = 4
BAND_BITS = 64 // BANDS
_BAND_MASK = (1 << BAND_BITS) - 1
# entries kept outside the sorted bands before a merge: a query scans them all, a merge
# sorts everything (tens of milliseconds at 500,000 entries), so this many per merge
PENDING_LIMIT = 4096


@cache
def _flips(bits: int, radius: int) -> np.ndarray:
    """Every `bits`-bit mask with at most `radius` bits set."""
    masks = [0]
    for r in range(1, radius + 1):
        for chosen in itertools.combinations(range(bits), r):
            masks.append(sum(1 << b for b in chosen))
    return np.array(masks, dtype=np.uint64)


def _bands(values: np.ndarray) -> list[np.ndarray]:
    return [
        ((values >> np.uint64(BAND_BITS * b)) & np.uint64(_BAND_MASK)).astype(np.uint16) for b in range(BANDS)
    ]


class HashIndex:
    """64-bit hashes, each with an owner (an int the caller chooses) and a tag (which of
    the owner's hashes it is). Not thread-safe: the caller locks."""

    def __init__(self) -> None:
        self._hashes = np.zeros(0, dtype=np.uint64)
        self._owners = np.zeros(0, dtype=np.int32)
        self._tags = np.zeros(0, dtype=np.int8)
        self._alive = np.zeros(0, dtype=bool)
        self._size = 0  # rows in use (the arrays grow by doubling)
        self._sorted = 0  # rows [0, _sorted) are in the band arrays, the rest are pending
        self._band_offsets: list[np.ndarray] = [
            np.zeros(_BAND_MASK + 2, dtype=np.int64) for _ in range(BANDS)
        ]
        self._band_rows: list[np.ndarray] = [np.zeros(0, dtype=np.int32) for _ in range(BANDS)]
        self._rows_of: dict[int, list[int]] = {}
        self._dead = 0
        self._pending_limit = PENDING_LIMIT
        self.last_compared = 0  # hashes the last query compared in full: the index's cost

    def __len__(self) -> int:
        return self._size - self._dead

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays (the owner dictionary comes on top)."""
        arrays: list[np.ndarray] = [
            self._hashes,
            self._owners,
            self._tags,
            self._alive,
            *self._band_offsets,
            *self._band_rows,
        ]
        return sum(a.nbytes for a in arrays)

    def add(self, owner: int, hashes: Iterable[int]) -> None:
        """Store an owner's hashes, tagged 0, 1, … in order (replacing any it had)."""
        self.remove(owner)
        values = list(hashes)
        if not values:
            return
        self._grow(self._size + len(values))
        rows = list(range(self._size, self._size + len(values)))
        self._hashes[rows] = np.array(values, dtype=np.uint64)
        self._owners[rows] = owner
        self._tags[rows] = np.arange(len(values), dtype=np.int8)
        self._alive[rows] = True
        self._size += len(values)
        self._rows_of[owner] = rows
        if self._size - self._sorted > self._pending_limit:
            self._merge()

    def add_many(self, items: Iterable[tuple[int, Sequence[int]]]) -> None:
        """Store many owners' hashes with one merge at the end (a build at start-up)."""
        owners: list[int] = []
        tags: list[int] = []
        values: list[int] = []
        for owner, hashes in items:
            self.remove(owner)
            owners += [owner] * len(hashes)
            tags += range(len(hashes))
            values += hashes
        if not values:
            return
        start = self._size
        self._grow(start + len(values))
        end = start + len(values)
        self._hashes[start:end] = np.array(values, dtype=np.uint64)
        self._owners[start:end] = owners
        self._tags[start:end] = tags
        self._alive[start:end] = True
        self._size = end
        self._merge()

    def remove(self, owner: int) -> None:
        rows = self._rows_of.pop(owner, None)
        if rows:
            self._alive[rows] = False
            self._dead += len(rows)

    def near(self, value: int, radius: int) -> list[tuple[int, int, int]]:
        """(owner, tag, distance) of every stored hash within `radius` bits of `value`."""
        return [(o, t, d) for _, o, t, d in self.near_many([value], radius)]

    def near_many(self, values: Sequence[int], radius: int) -> list[tuple[int, int, int, int]]:
        """(query, owner, tag, distance) for every stored hash within `radius` bits of one of
        `values` (`query` its position there), sorted. All queries in one pass of array
        operations: how a first grouping of a whole catalog stays seconds, not minutes."""
        queries = np.array(values, dtype=np.uint64)
        flips = _flips(BAND_BITS, radius // BANDS)
        pending = np.arange(self._sorted, self._size, dtype=np.int64)
        found_rows = [np.tile(pending, len(queries))]  # every query against the pending rows
        found_queries = [np.repeat(np.arange(len(queries)), len(pending))]
        for band, query_bands in enumerate(_bands(queries)):
            # every band value within the radius of each query's: a XOR keeps them distinct
            keys = (query_bands[:, None].astype(np.uint64) ^ flips[None, :]).astype(np.uint16).ravel()
            key_queries = np.repeat(np.arange(len(queries)), len(flips))
            offsets = self._band_offsets[band]
            start = offsets[keys]
            lengths = offsets[keys.astype(np.int64) + 1] - start
            # the rows of every matching run, gathered without a Python loop
            ends = np.cumsum(lengths)
            total = int(ends[-1]) if len(ends) else 0
            positions = np.arange(total) + np.repeat(start - ends + lengths, lengths)
            found_rows.append(self._band_rows[band][positions])
            found_queries.append(np.repeat(key_queries, lengths))
        rows, asked = np.concatenate(found_rows), np.concatenate(found_queries)
        alive = self._alive[rows]
        rows, asked = rows[alive], asked[alive]
        self.last_compared = len(rows)
        distances = np.bitwise_count(self._hashes[rows] ^ queries[asked])
        close = distances <= radius
        rows, asked, distances = rows[close], asked[close], distances[close]
        # a row found in two bands comes twice
        return sorted(
            set(
                zip(
                    asked.tolist(),
                    self._owners[rows].tolist(),
                    self._tags[rows].tolist(),
                    distances.tolist(),
                    strict=True,
                )
            )
        )

    def _grow(self, needed: int) -> None:
        if needed <= len(self._hashes):
            return
        capacity = max(needed, 2 * len(self._hashes), 1024)
        for name in ("_hashes", "_owners", "_tags", "_alive"):
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[: self._size] = old[: self._size]
            setattr(self, name, new)

    def _merge(self) -> None:
        """Drop removed rows and sort every row into the bands."""
        keep = np.flatnonzero(self._alive[: self._size])
        size = len(keep)
        for name in ("_hashes", "_owners", "_tags", "_alive"):
            array = getattr(self, name)
            array[:size] = array[keep]
        self._alive[size : self._size] = False
        self._size, self._dead = size, 0
        self._rows_of = {}
        for row, owner in enumerate(self._owners[:size].tolist()):
            self._rows_of.setdefault(owner, []).append(row)
        for band, values in enumerate(_bands(self._hashes[:size])):
            order = np.argsort(values, kind="stable")
            self._band_rows[band] = order.astype(np.int32)
            # where each band value's run starts in the sorted rows (and the next one's):
            # a lookup is two array reads, not a binary search
            self._band_offsets[band] = np.searchsorted(values[order], np.arange(_BAND_MASK + 2), side="left")
        self._sorted = size
