"""A bounded lane for model work, off the event loop.

Inference is CPU-bound and the describer runs one image at a time, so one
worker thread is enough; the bound keeps a burst of uploads from piling up in
memory. When the lane is full the API answers 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from describe.errors import ImgdescError

T = TypeVar("T")


class BusyError(ImgdescError):
    status_code = 503

    def __init__(self, retry_after: int) -> None:
        super().__init__("the describer is busy; retry shortly", {"retry_after": retry_after})
        self.retry_after = retry_after


class WorkLane:
    def __init__(self, capacity: int = 4, retry_after: int = 2) -> None:
        self.capacity = capacity
        self.retry_after = retry_after
        self._slots = threading.BoundedSemaphore(capacity)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imgdesc-model")

    async def run(self, fn: Callable[[], T]) -> T:
        if not self._slots.acquire(blocking=False):
            raise BusyError(self.retry_after)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
