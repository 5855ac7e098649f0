"""The Ray Data job behind `imgdesc index SOURCE --engine ray`.

Two passes over the source, both Ray Data pipelines:

1. list the files (on the driver, as Ray's own file readers do) and hash them in
   parallel tasks; the driver groups paths by content and asks the store which
   contents it already holds: those only get their paths merged, never described
   again (so a rerun after a kill, or on a grown bucket, does only what is new);
2. the new contents go to a pool of `DescribeWorker` actors (one resident Describer
   and embedder each) in batches; finished points stream back to the driver, which
   upserts them in batches. Point ids derive from the content hash, so a retried
   batch or an overlapping run overwrites and never duplicates.

A file that cannot be read or described is written to the failures file (JSON
Lines) with its reason, and the job goes on. Ray restarts a worker that dies and
retries its batch (TASK_RETRIES times; a file that kills the process every time
fails the job, which a rerun resumes).
"""

from __future__ import annotations

import math
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal

import msgspec

from catalog.store.base import Store, point_id
from indexer.distributed.cluster import open_cluster_store
from indexer.distributed.source import Source, hash_batch, list_files, open_source
from indexer.distributed.worker import DescribeWorker, WorkerSpec, decode_point, encode_paths

HASH_BATCH = 64  # files per hashing task
UPSERT_BATCH = 64  # points per store.upsert from the driver
LOOKUP_BATCH = 256  # ids per store.get_many when planning
# One block per describe batch lets every worker start at once; the cap keeps the
# scheduling overhead of a very large run bounded (blocks are then split into batches).
MAX_BLOCKS = 10_000
TASK_RETRIES = 3  # per batch, after its worker died; -1 would retry a poison file forever


class FailedFile(msgspec.Struct):
    path: str
    error: str
    sha256: str = ""


class RayProgress(msgspec.Struct, frozen=True):
    stage: Literal["hashing", "describing"]
    done: int
    failed: int
    total: int
    rate: float  # per second since the stage began


Progress = Callable[[RayProgress], None]


class RayIndexResult(msgspec.Struct):
    files: int  # found under the source (hidden and temp files left out)
    contents: int  # distinct contents among them
    described: int  # new contents, described and stored by this run
    linked: int  # already stored; paths added
    unchanged: int  # already stored with these paths
    failed: int  # files
    failures_file: str
    failures: list[FailedFile]
    seconds: float


@dataclass(frozen=True)
class Resources:
    """How the describe stage is spread: `workers` actors, each holding its models."""

    workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0  # logical CPUs Ray reserves; the models use spec threads
    batch_size: int = 8  # images per describe call (a VLM captions them at once)


class _FailureLog:
    """The failures file, written as failures happen: a killed driver leaves a record."""

    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh
        self.failures: list[FailedFile] = []

    def add(self, failure: FailedFile) -> None:
        self.failures.append(failure)
        self._fh.write(msgspec.json.encode(failure).decode() + "\n")
        self._fh.flush()


@contextmanager
def _failure_log(path: Path) -> Iterator[_FailureLog]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:  # this run's failures: what is still failing
        yield _FailureLog(fh)


def run_ray_index(
    source: str | Path,
    spec: WorkerSpec,
    *,
    qdrant_url: str | None,
    dense_size: int,
    failures_file: Path,
    image_size: int | None = None,
    api_key: str | None = None,
    collection: str = "images",
    shards: int | None = None,
    replicas: int | None = None,
    resources: Resources = Resources(),
    progress: Progress | None = None,
) -> RayIndexResult:
    """Index `source` into the Qdrant server or cluster at `qdrant_url` (required).
    `image_size`: room for the points' image vectors, when the settings turn the tagger on."""
    store = open_cluster_store(
        qdrant_url, dense_size, api_key=api_key, collection=collection, shards=shards, replicas=replicas,
        image_size=image_size,
    )  # fmt: skip
    try:
        return index_to_store(source, spec, store, failures_file, resources, progress)
    finally:
        store.close()


def index_to_store(
    source: str | Path,
    spec: WorkerSpec,
    store: Store,
    failures_file: Path,
    resources: Resources = Resources(),
    progress: Progress | None = None,
) -> RayIndexResult:
    """The job against an open store, which only the driver touches (so qdrant-client's
    single-process local mode works too)."""
    started = time.monotonic()
    src = open_source(source)
    files = list_files(src)
    with _failure_log(failures_file) as log:
        hashed = _hash_files(src, files, log, progress)
        todo, linked, unchanged = _plan(hashed, store)
        described = _describe(src, todo, spec, resources, store, log, progress)
    return RayIndexResult(
        files=len(files),
        contents=len(todo) + linked + unchanged,
        described=described,
        linked=linked,
        unchanged=unchanged,
        failed=len(log.failures),
        failures_file=str(failures_file),
        failures=log.failures,
        seconds=round(time.monotonic() - started, 2),
    )


def _hash_files(
    src: Source, files: list[tuple[str, int]], log: _FailureLog, progress: Progress | None
) -> list[tuple[str, int, str]]:
    """(path, size, sha256) of every file that could be read; the others are logged."""
    import ray.data

    if not files:
        return []
    items = [{"path": rel, "size": size} for rel, size in files]
    ds = ray.data.from_items(items, override_num_blocks=_blocks(len(items), HASH_BATCH))
    hashed = ds.map_batches(partial(hash_batch, source=src), batch_size=HASH_BATCH)
    found: list[tuple[str, int, str]] = []
    start = time.monotonic()
    for batch in hashed.iter_batches(batch_size=HASH_BATCH, batch_format="numpy"):
        for rel, size, sha, error in zip(
            batch["path"], batch["size"], batch["sha256"], batch["error"], strict=True
        ):
            if error:
                log.add(FailedFile(path=str(rel), error=str(error)))
            else:
                found.append((str(rel), int(size), str(sha)))
        if progress is not None:
            done = len(found) + len(log.failures)
            progress(RayProgress("hashing", done, len(log.failures), len(files), _rate(done, start)))
    return found


def _plan(hashed: list[tuple[str, int, str]], store: Store) -> tuple[list[dict[str, Any]], int, int]:
    """The new contents (one row each, every path of it) and how many stored ones
    were linked to new paths or left as they were."""
    paths: dict[str, list[str]] = defaultdict(list)
    sizes: dict[str, int] = {}
    for rel, size, sha in hashed:
        paths[sha].append(rel)
        sizes[sha] = size
    shas = sorted(paths)
    todo: list[dict[str, Any]] = []
    linked = unchanged = 0
    for start in range(0, len(shas), LOOKUP_BATCH):
        chunk = shas[start : start + LOOKUP_BATCH]
        stored = store.get_many([point_id(sha) for sha in chunk])
        for sha in chunk:
            found = sorted(paths[sha])
            known = stored.get(point_id(sha))
            if known is None:
                todo.append({"sha256": sha, "paths": encode_paths(found), "size": sizes[sha]})
            elif set(found) <= set(known.paths):
                unchanged += 1
            else:  # the same bytes at a new path: a copy or a move, nothing to describe
                store.set_paths(point_id(sha), sorted({*known.paths, *found}))
                linked += 1
    return todo, linked, unchanged


def _describe(
    src: Source,
    todo: list[dict[str, Any]],
    spec: WorkerSpec,
    resources: Resources,
    store: Store,
    log: _FailureLog,
    progress: Progress | None,
) -> int:
    """Describe and embed on the actor pool; upsert what comes back. Returns how many
    points were written."""
    import ray.data

    if not todo:
        return 0
    blocks = _blocks(len(todo), resources.batch_size)
    ds = ray.data.from_items(todo, override_num_blocks=blocks)
    with warnings.catch_warnings():
        # Ray 2.60 takes max_task_retries only among the generic remote args, which it
        # marks deprecated (no named parameter yet); its default retries forever
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        described = ds.map_batches(
            DescribeWorker,
            fn_constructor_kwargs={"spec": spec, "source": src},
            batch_size=resources.batch_size,
            # never more workers (each loading its models) than there are batches
            compute=ray.data.ActorPoolStrategy(size=min(resources.workers, blocks)),
            num_cpus=resources.cpus_per_worker,
            num_gpus=resources.gpus_per_worker or None,
            max_task_retries=TASK_RETRIES,
        )
    written = failed = 0
    start = time.monotonic()
    for batch in described.iter_batches(batch_size=UPSERT_BATCH, batch_format="numpy"):
        points = []
        for sha, rel, point, error in zip(
            batch["sha256"], batch["path"], batch["point"], batch["error"], strict=True
        ):
            if error:
                log.add(FailedFile(path=str(rel), error=str(error), sha256=str(sha)))
                failed += 1
            else:
                points.append(decode_point(bytes(point)))
        store.upsert(points)
        written += len(points)
        if progress is not None:
            done = written + failed
            progress(RayProgress("describing", done, failed, len(todo), _rate(done, start)))
    return written


def _blocks(items: int, per_block: int) -> int:
    return max(1, min(MAX_BLOCKS, math.ceil(items / per_block)))


def _rate(done: int, since: float) -> float:
    return round(done / max(time.monotonic() - since, 1e-6), 2)
