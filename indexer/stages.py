"""The two threads beside the writing side (indexer/batch.py), one for each kind of work:

- ReadAhead: the read side of the next few paths (stat, hash, decode, the thumbnail's
  encoding), ahead of their describing;
- EncodeStage: a described image's record composed (the profile's paragraph and the
  alt text), its thumbnail written and its point embedded, while the next image is
  described, so its inference does not wait for the last one's text model (ONNX Runtime,
  numpy and file writes release the GIL; describing alone leaves a third of the two
  cores idle).

Only the reading and the encoding move here: the batch still makes every store and
journal write from its own thread, in the order indexer/batch.py sets out. It waits for
its images' encodings (`take`) before the upsert, and an image counts as held by the
open batch from the moment it is submitted. The encoding runs one job at a time, in
submission order; a job's error is handed back with its file, for the batch to record
as that file's failure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from catalog.store.base import ImagePoint
from indexer.pipeline import Prepared, Read


class ReadAhead:
    """Runs the read side (hash, decode) of the next few paths in one thread while the
    caller describes the current ones: at most `depth` paths ahead, so at most that many
    decoded images wait in memory. Hashing, decoding and inference release the GIL."""

    def __init__(self, prepare: Callable[[str], Prepared], depth: int) -> None:
        self._prepare = prepare
        self.depth = max(1, depth)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="imgdesc-read")
        self._ahead: deque[tuple[str, Future[Prepared]]] = deque()

    def __len__(self) -> int:
        return len(self._ahead)

    def full(self) -> bool:
        return len(self._ahead) >= self.depth

    def paths(self) -> list[str]:
        return [rel for rel, _ in self._ahead]

    def submit(self, rel: str) -> None:
        self._ahead.append((rel, self._pool.submit(self._prepare, rel)))

    def next(self) -> Prepared:
        """The oldest path's result, waiting for it; its error is raised here."""
        return self._ahead.popleft()[1].result()

    def close(self) -> None:
        for _, future in self._ahead:
            future.cancel()
        self._ahead.clear()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Encoding:
    """One image's point on its way, and the file it is for."""

    found: Read
    future: Future[ImagePoint]


class EncodeStage:
    """A single thread (started at the first job) that turns described images into points."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: list[Encoding] = []

    def __len__(self) -> int:
        return len(self._jobs)

    def held(self) -> list[tuple[str, str]]:
        """(path, sha256) of every image submitted and not yet taken."""
        return [(job.found.rel, job.found.sha) for job in self._jobs]

    def submit(self, found: Read, encode: Callable[[], ImagePoint]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="imgdesc-encode")
        self._jobs.append(Encoding(found, self._pool.submit(encode)))

    def take(self) -> list[tuple[Read, ImagePoint | Exception]]:
        """Every job submitted, waited for, in order: its point, or the error it raised."""
        jobs, self._jobs = self._jobs, []
        done: list[tuple[Read, ImagePoint | Exception]] = []
        for job in jobs:
            error = job.future.exception()  # waits
            done.append((job.found, job.future.result() if error is None else _exception(error)))
        return done

    def close(self) -> None:
        """Let the thread go once its jobs are done; what they made is dropped (their
        files' rows stay pending, as for any batch that was not written)."""
        self._jobs.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _exception(error: BaseException) -> Exception:
    """A BaseException that is not an Exception (KeyboardInterrupt, SystemExit) is not one
    file's failure: it goes on up."""
    if not isinstance(error, Exception):
        raise error
    return error
