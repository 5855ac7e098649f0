"""The log-in rate limit: at most `tries` attempts a `window` per account name and per
client address; the next is refused (429) until the oldest leaves the window.

A small bounded table in memory, not Litestar's RateLimitMiddleware: that one counts by
client address only (per handler), and a log-in needs the account name from the form
too, so a guesser spreading over many addresses still meets the per-account limit.
The table holds at most `keys` names and addresses, dropping the least recently seen:
memory stays bounded whatever a flood sends. Per process: a restart forgets it."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class AttemptLimiter:
    def __init__(
        self,
        tries: int = 10,
        window: float = 60.0,
        keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tries, self.window, self.keys, self.clock = tries, window, keys, clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, *keys: str) -> float:
        """Counts one attempt under each key; 0 when it may go ahead, else the seconds
        until it may (the attempt is not counted then)."""
        now = self.clock()
        with self._lock:
            wait = max((self._wait(key, now) for key in keys), default=0.0)
            if wait:
                return wait
            for key in keys:
                self._seen.setdefault(key, deque()).append(now)
                self._seen.move_to_end(key)
            while len(self._seen) > self.keys:
                self._seen.popitem(last=False)
            return 0.0

    def _wait(self, key: str, now: float) -> float:
        times = self._seen.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        return times[0] + self.window - now if len(times) >= self.tries else 0.0
