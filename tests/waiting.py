"""The one way tests wait: poll a condition on real state until it holds, never sleep
for a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(check: Callable[[], bool], timeout: float = 20.0, interval: float = 0.05) -> float:
    """Seconds until `check()` held; fails the test after `timeout`. `check` may raise
    AssertionError itself to stop early (a server process that exited)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - start
