"""Where blocking work runs, off the event loop: one lane per kind of work, so a
10 ms search never waits behind a 2 s model call.

- `WorkLane`: model inference (describing uploads). Inference is CPU-bound and
  the describer runs one image at a time, so one worker thread is enough; the
  bound keeps a burst of uploads from piling up in memory. When the lane is full
  the API answers 503 with Retry-After.
- `ReadPool`: search, store reads and index status. Short calls that may still
  block (a Qdrant server over the network, SQLite, the query embedding); a few
  threads, never refused, never queued behind inference.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.errors import BusyError

__all__ = ["BusyError", "ReadPool", "WorkLane"]  # BusyError: what a full lane raises

T = TypeVar("T")
# Reads are short; more threads than this only contend for the embedder and the store.
READ_THREADS = 8


class WorkLane:
    """Model work: one at a time, at most `capacity` running or waiting."""

    def __init__(self, capacity: int = 4, retry_after: int = 2) -> None:
        self.capacity = capacity
        self.retry_after = retry_after
        self._taken = 0
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imgdesc-model")

    @property
    def in_flight(self) -> int:
        """Calls running or waiting in the lane."""
        with self._lock:
            return self._taken

    async def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._taken >= self.capacity:
                raise BusyError(self.retry_after)
            self._taken += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        finally:
            with self._lock:
                self._taken -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class ReadPool:
    """Search and store reads: a thread pool of their own, unbounded queue (a read
    is never answered 503)."""

    def __init__(self, threads: int = READ_THREADS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="imgdesc-read")

    async def run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
