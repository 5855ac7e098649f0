"""The embedded store: a Qdrant Edge shard in a local directory, owned by one process.

Edge runs no background optimizer: points land in appendable segments that are
searched exhaustively until `optimize()` builds the HNSW graph. The payload
indexes work on those segments as well, so filtering and facets are indexed either way.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Concatenate, ParamSpec, TypeVar

import msgspec
import numpy as np
import qdrant_edge as qe

import catalog.store.edge_layout as edge_layout
import catalog.store.edge_optimize as edge_optimize
from catalog.store.base import (
    DENSE,
    FOCUS,
    IMAGE,
    LABELS,
    ORDER_FIELD,
    SPARSE,
    ImagePoint,
    SparseVector,
    StoredImage,
    StoreInUseError,
    decode_payload,
)
from describe.memory import release_freed_memory

logger = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

LOCK_FILE = "imgdesc.lock"
CONFIG_FILE = edge_layout.CONFIG_FILE


def _reads(method: Callable[Concatenate[EdgeStore, P], R]) -> Callable[Concatenate[EdgeStore, P], R]:
    @functools.wraps(method)
    def under_lock(self: EdgeStore, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._shard_lock:
            return method(self, *args, **kwargs)

    return under_lock


def _writes(method: Callable[Concatenate[EdgeStore, P], R]) -> Callable[Concatenate[EdgeStore, P], R]:
    @functools.wraps(method)
    def under_locks(self: EdgeStore, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._write_lock, self._shard_lock:
            return method(self, *args, **kwargs)

    return under_locks


class EdgeStore:
    def __init__(self, path: Path, shard: qe.EdgeShard, lock_fd: int) -> None:
        self.path = path
        self._shard = shard
        # every call on the shard holds _shard_lock (Edge holds the GIL in each call, so
        # this serialises nothing that ran in parallel); optimize() swaps the shard under
        # it. Writes also hold _write_lock, which optimize() holds from copy to swap.
        self._shard_lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._lock_fd: int | None = lock_fd

    @classmethod
    def open(
        cls,
        path: Path,
        dense_size: int,
        recreate: bool = False,
        claim: int | None = None,
        image_size: int | None = None,
    ) -> EdgeStore:
        """Create the shard if `path` holds none, load it otherwise. `recreate` wipes it
        first (after a DimensionMismatchError or SchemaChangedError, once the caller
        decided to rebuild).
        `claim`: the lock from claim_lock(), taken earlier; the store owns it once open.
        `image_size`: declare the IMAGE vector at that size (added to a shard without it;
        a shard holding it at another size gets it back empty)."""
        path.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock(path) if claim is None else claim
        try:
            edge_optimize.recover(path)  # a swap a crash interrupted
            if recreate:
                _wipe(path)
            if (path / CONFIG_FILE).exists():
                stored_image = edge_layout.check_stored_config(path, dense_size)
                unquantized = edge_layout.unquantized(path)
                # passing the config makes Edge check the distances, sparse settings and the
                # rest, and record the new layout (int8 copies, vectors on disk)
                shard = qe.EdgeShard.load(str(path), edge_layout.config(dense_size, stored_image))
                if image_size is not None and image_size != stored_image:
                    _replace_image_vector(shard, image_size, stored_image is not None)
                if unquantized:
                    edge_layout.relayout(shard, path)
            else:
                shard = qe.EdgeShard.create(str(path), edge_layout.config(dense_size, image_size))
            edge_layout.ensure_payload_indexes(shard)
            # Edge allocates transiently while it loads a shard and glibc keeps what was
            # freed: a 10k-point shard left 497 MB of heap resident after opening, 38 MB
            # after handing it back
            release_freed_memory()
        except BaseException:
            if claim is None:  # a claim stays with the caller, who may retry with it
                _unlock(lock_fd)
            raise
        return cls(path, shard, lock_fd)

    # -- writes: each one is flushed before returning, so a crash loses nothing acknowledged

    @_writes
    def upsert(self, points: Sequence[ImagePoint]) -> None:
        if points:
            self._shard.update(qe.UpdateOperation.upsert_points([_to_point(p) for p in points]))
            self._shard.flush()

    @_writes
    def set_paths(self, id: str, paths: list[str]) -> None:
        if not self._shard.retrieve([id], False, False):
            # same as the server adapter, which answers 404 for an unknown point
            raise KeyError(id)
        payload: dict[str, object] = {"paths": paths}
        if paths:
            payload["filename"] = PurePosixPath(paths[0]).name
        self._shard.update(qe.UpdateOperation.set_payload([id], payload))
        self._shard.flush()

    @_writes
    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._shard.update(qe.UpdateOperation.delete_points(list(ids)))
            self._shard.flush()

    def optimize(self) -> bool:
        """Build the HNSW graph and the int8 copies, merge segments: worth calling after a
        bulk load (Qdrant Edge has no background optimiser). Minutes of CPU at 100k points,
        spent by a child process on a copy of the shard (catalog/store/edge_optimize.py):
        reads go on meanwhile, writes wait until the optimised copy is in place."""
        with self._write_lock:
            with self._shard_lock:
                self._shard.flush()
            if not edge_optimize.optimize_copy(self.path):
                return False
            with self._shard_lock:
                if self._lock_fd is None:  # closed meanwhile: the shard is no longer ours
                    shutil.rmtree(edge_optimize.work_dir(self.path), ignore_errors=True)
                    return False
                self._shard.close()
                try:
                    edge_optimize.swap_in(self.path)
                except BaseException:
                    edge_optimize.recover(self.path)  # the shard as it was
                    raise
                finally:
                    self._shard = qe.EdgeShard.load(str(self.path))  # with its recorded config
        release_freed_memory()
        return True

    # -- reads

    @_reads
    def get(self, id: str) -> StoredImage | None:
        records = self._shard.retrieve([id], True, False)
        return decode_payload(records[0].payload) if records else None

    @_reads
    def nearest(
        self,
        using: str,
        vector: list[float] | SparseVector,
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
        exact: bool = False,
    ) -> list[tuple[str, float]]:
        """`exact`: compare every float vector (the benchmark's ground truth)."""
        request = _nearest_request(using, vector, _tag_filter(tags, not_tags), limit, exact)
        return [] if request is None else [(str(p.id), p.score) for p in self._shard.query(request)]

    @_reads
    def nearest_views(
        self,
        queries: Sequence[tuple[str, list[float] | SparseVector]],
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[list[tuple[str, float]]]:
        where = _tag_filter(tags, not_tags)
        requests = [_nearest_request(using, vector, where, limit) for using, vector in queries]
        asked = [r for r in requests if r is not None]
        answers = iter(self._shard.query_batch(qe.QueryBatchRequest(asked)) if asked else [])
        return [[] if r is None else [(str(p.id), p.score) for p in next(answers)] for r in requests]

    @_reads
    def get_many(self, ids: Sequence[str]) -> dict[str, StoredImage]:
        if not ids:
            return {}
        records = self._shard.retrieve(list(ids), True, False)
        return {str(r.id): decode_payload(r.payload) for r in records}

    @_reads
    def image_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        out: dict[str, list[float]] = {}
        for record in self._shard.retrieve(list(ids), False, True):
            vector = record.vector.get(IMAGE) if isinstance(record.vector, dict) else None
            if isinstance(vector, list) and all(isinstance(x, float) for x in vector):
                out[str(record.id)] = [float(x) for x in vector]  # type: ignore[arg-type]
        return out

    @_reads
    def vectors(self, id: str) -> dict[str, list[float] | SparseVector]:
        records = self._shard.retrieve([id], False, True)
        found = records[0].vector if records and isinstance(records[0].vector, dict) else {}
        return {name: _vector(value) for name, value in found.items()}

    @_writes
    def set_image_vectors(self, vectors: Sequence[tuple[str, list[float]]], model: str) -> None:
        if not vectors:
            return
        ids: list[qe.PointId] = [pid for pid, _ in vectors]
        self._shard.update(
            qe.UpdateOperation.update_vectors([qe.PointVectors(p, {IMAGE: v}) for p, v in vectors])
        )
        self._shard.update(qe.UpdateOperation.set_payload(ids, {"image_model": model}))
        self._shard.flush()

    @_reads
    def facets(
        self, tags: Sequence[str] = (), limit: int = 50, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, int]]:
        request = qe.FacetRequest("tags", limit=limit, exact=True, filter=_tag_filter(tags, not_tags))
        response = self._shard.facet(request)
        # ties broken by name so both adapters (and repeated calls) agree
        return sorted(((str(h.value), h.count) for h in response.hits), key=lambda vc: (-vc[1], vc[0]))

    @_reads
    def count(self, tags: Sequence[str] = (), *, not_tags: Sequence[str] = ()) -> int:
        return self._shard.count(qe.CountRequest(exact=True, filter=_tag_filter(tags, not_tags)))

    @_reads
    def latest(
        self, tags: Sequence[str] = (), limit: int = 20, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, StoredImage]]:
        order = qe.OrderBy(ORDER_FIELD, qe.Direction.Desc)
        request = qe.ScrollRequest(
            limit=limit,
            filter=_tag_filter(tags, not_tags),
            with_payload=True,
            with_vector=False,
            order_by=order,
        )
        records, _ = self._shard.scroll(request)
        return [(str(r.id), decode_payload(r.payload)) for r in records]

    def scroll(self, batch: int = 256, tags: Sequence[str] = ()) -> Iterator[tuple[str, StoredImage]]:
        offset: qe.PointId | None = None
        while True:
            request = qe.ScrollRequest(
                offset=offset, limit=batch, filter=_tag_filter(tags), with_payload=True, with_vector=False
            )
            with self._shard_lock:  # page by page: a generator must not hold it between
                records, offset = self._shard.scroll(request)
            for record in records:
                yield str(record.id), decode_payload(record.payload)
            if offset is None:
                return

    @_reads
    def verify(self, batch: int = 256, vector_every: int = 1) -> str | None:
        """Read the store back: every payload (decoded), and the vectors of every
        `vector_every`-th point (finite; the cosine ones unit length, as Qdrant stores
        them). The first damage found, in words; None when all of it reads back.
        Damaged vector files read without an error, as garbage numbers: hence the check."""
        offset: qe.PointId | None = None
        seen = 0
        while True:
            request = qe.ScrollRequest(offset=offset, limit=batch, with_payload=True, with_vector=False)
            try:
                records, offset = self._shard.scroll(request)
                for record in records:
                    decode_payload(record.payload)
            except Exception as exc:  # Qdrant Edge raises plain Exceptions: "Failed to decompress …"
                return f"payloads unreadable after {seen} points: {str(exc)[:200]}"
            sample = [r.id for i, r in enumerate(records, seen) if i % vector_every == 0]
            seen += len(records)
            try:
                found = self._shard.retrieve(sample, False, True) if sample else []
            except Exception as exc:
                return f"vectors unreadable: {str(exc)[:200]}"
            for record in found:
                damage = _vector_damage(record.vector)
                if damage:
                    return f"point {record.id}: {damage}"
            if offset is None:
                return None

    def close(self) -> None:
        with self._shard_lock:  # not in the middle of an optimize()'s swap
            if self._lock_fd is None:
                return
            try:
                self._shard.flush()
                self._shard.close()
            finally:
                _unlock(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> EdgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten close must not keep the directory locked
        with contextlib.suppress(Exception):
            self.close()


def _vector_damage(vectors: object) -> str:
    """What is wrong with one point's dense vectors as read back ("" when nothing)."""
    if not isinstance(vectors, dict):
        return ""
    for name, values in vectors.items():
        if name == SPARSE or not isinstance(values, list):
            continue
        array = np.asarray(values, dtype=np.float64)
        if not np.isfinite(array).all():
            return f"its {name} vector holds values that are not numbers"
        if name != LABELS and array.size and abs(float(np.linalg.norm(array)) - 1.0) > 1e-3:
            return f"its {name} vector is not unit length (cosine vectors are stored normalised)"
    return ""


def _replace_image_vector(shard: qe.EdgeShard, size: int, exists: bool) -> None:
    """Declare IMAGE at `size`; one of another size (another image model) goes first, with
    its vectors: they cannot be compared with the new model's."""
    if exists:
        shard.update(qe.UpdateOperation.delete_vector_name(IMAGE))
    shard.update(qe.UpdateOperation.create_dense_vector(IMAGE, size, qe.Distance.Cosine))
    shard.flush()


def _wipe(path: Path) -> None:
    # the directory belongs to the store (data_dir/"qdrant"): everything but the lock goes
    for child in path.iterdir():
        if child.name == LOCK_FILE:
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def claim_lock(path: Path) -> int:
    """Take the store's lock before the slow part of start-up (loading models), so a
    second process learns at once that the store is in use; pass it to open()."""
    path.mkdir(parents=True, exist_ok=True)
    return _lock(path)


def release_claim(fd: int) -> None:
    _unlock(fd)


def _lock(path: Path) -> int:
    """flock is per open file description, so a second open in this process conflicts too;
    the kernel drops it when the process dies, so a crash never leaves a stale lock."""
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        pid = f" (pid {holder})" if holder.isdigit() else ""
        raise StoreInUseError(
            f"the embedded store at {path} is in use by another imgdesc process{pid} "
            "(is `imgdesc serve` running?); stop it first, or do this through the running server"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def _unlock(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _nearest_request(
    using: str, vector: list[float] | SparseVector, where: qe.Filter | None, limit: int, exact: bool = False
) -> qe.QueryRequest | None:
    """None for a sparse query without terms: nothing lexical to match."""
    if isinstance(vector, SparseVector):
        if not vector.indices:
            return None
        query = qe.Query.Nearest(qe.SparseVector(vector.indices, vector.values), using=using)
    else:
        query = qe.Query.Nearest(vector, using=using)
    return qe.QueryRequest(
        limit,
        query=query,
        filter=where,
        with_payload=False,
        with_vector=False,
        params=edge_layout.EXACT if exact else edge_layout.search_params(using),
    )


def _tag_filter(tags: Sequence[str], not_tags: Sequence[str] = ()) -> qe.Filter | None:
    # one condition per tag, all in `must`: a hit carries every tag; and none in `must_not`
    if not tags and not not_tags:
        return None
    return qe.Filter(
        must=[qe.FieldCondition("tags", match=qe.MatchValue(t)) for t in tags] or None,
        must_not=[qe.FieldCondition("tags", match=qe.MatchValue(t)) for t in not_tags] or None,
    )


def _vector(value: object) -> list[float] | SparseVector:
    if isinstance(value, qe.SparseVector):
        return SparseVector(indices=list(value.indices), values=[float(v) for v in value.values])
    return [float(v) for v in value] if isinstance(value, list) else []


def _to_point(point: ImagePoint) -> qe.Point:
    vectors: dict[str, qe.NamedVector] = {
        DENSE: point.dense,
        SPARSE: qe.SparseVector(point.sparse.indices, point.sparse.values),
    }
    # a point may lack a view: Qdrant keeps it out of that vector's searches
    if point.focus is not None:
        vectors[FOCUS] = point.focus
    if point.labels is not None:
        vectors[LABELS] = point.labels
    if point.image is not None:
        vectors[IMAGE] = point.image
    return qe.Point(point.id, vectors, msgspec.to_builtins(point.payload))
