"""Search while the models work: search latency idle, then while uploads are being
described and the indexer is busy, with the real models on this machine.

Search runs on the read pool and query embedding takes turns with the indexer's batches
(app/work.py, catalog/embed.py), so a search never queues behind a describe and never
gets 503 for it. What is left is CPU sharing: on 2 cores, 4 describes, the indexer and
the searches compete for the same cores, and that is what this bench shows.
"""

from __future__ import annotations

import mimetypes
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from app.config import Settings
from app.dev.bench.measure import p50_p95_ms
from app.dev.samples import build

BASE_URL = "http://127.0.0.1:8000"
QUERIES = ("cat", "coffee cup", "red sign", "a person outdoors", "flowers", "text that says sale")


class LanesResult(msgspec.Struct):
    searches: int  # per phase
    uploads: int  # described at once during the busy phase
    idle_ms: tuple[float, float]  # search p50 / p95, nothing else running
    busy_ms: tuple[float, float]  # the same while uploads are described and the indexer works
    busy_statuses: dict[str, int]  # HTTP status → count of the searches in the busy phase
    uploads_described: int  # uploads answered 200 during the busy phase
    load_average: float  # 1-minute load average at the end: the machine is shared

    @property
    def ratio(self) -> float:
        return self.busy_ms[1] / self.idle_ms[1] if self.idle_ms[1] else float("nan")


def _poll(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the bench's app did not get there in time")
        time.sleep(0.2)


def run(settings: Settings, searches: int = 60, uploads: int = 4) -> LanesResult:
    """Both phases on one app: a watched folder of the sample photos, the real models."""
    import os

    from litestar.testing import TestClient

    from app.server import create_app

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        photos, signs = build(base / "samples")
        watched = base / "images"
        watched.mkdir()
        for path in photos[:6]:
            shutil.copy(path, watched / path.name)
        app_settings = msgspec.structs.replace(settings, watch=str(watched), data_dir=str(base / "data"))
        with TestClient(create_app(app_settings), base_url=BASE_URL) as client:
            _poll(lambda: client.get("/api/health").status_code == 200, 300)
            _poll(lambda: client.get("/api/index/status").json()["pending"] == 0, 300)

            def timed_search(i: int) -> tuple[int, float]:
                start = time.perf_counter()
                status = client.get("/api/search", params={"q": QUERIES[i % len(QUERIES)]}).status_code
                return status, time.perf_counter() - start

            for i in range(len(QUERIES)):  # warm: embedder, store, read pool
                timed_search(i)
            idle = [timed_search(i) for i in range(searches)]

            stop = threading.Event()
            described: list[int] = []

            def describe_loop(k: int) -> None:
                uploads_cycle = [*photos, *signs]
                n = k
                while not stop.is_set():
                    path = uploads_cycle[n % len(uploads_cycle)]
                    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    files = {"image": (path.name, path.read_bytes(), kind)}
                    described.append(client.post("/api/describe", files=files).status_code)
                    n += uploads

            for path in photos[6:]:  # the indexer gets work too
                shutil.copy(path, watched / path.name)
            with ThreadPoolExecutor(uploads) as pool:
                for k in range(uploads):
                    pool.submit(describe_loop, k)
                _poll(lambda: client.get("/api/index/status").json()["pending"] > 0 or len(described) > 0, 60)
                busy = [timed_search(i) for i in range(searches)]
                stop.set()
    return LanesResult(
        searches=searches,
        uploads=uploads,
        idle_ms=p50_p95_ms([s for _, s in idle]),
        busy_ms=p50_p95_ms([s for _, s in busy]),
        busy_statuses={str(k): v for k, v in sorted(Counter(code for code, _ in busy).items())},
        uploads_described=sum(1 for code in described if code == 200),
        load_average=round(os.getloadavg()[0], 2),
    )


def report(result: LanesResult) -> str:
    return "\n".join(
        [
            f"search while the models work ({result.searches} searches per phase, {result.uploads} uploads "
            f"described at once + the indexer busy in the second; load average {result.load_average}):",
            f"  idle:  p50 {result.idle_ms[0]:.1f} ms, p95 {result.idle_ms[1]:.1f} ms",
            f"  busy:  p50 {result.busy_ms[0]:.1f} ms, p95 {result.busy_ms[1]:.1f} ms "
            f"({result.ratio:.1f}× idle p95); statuses {result.busy_statuses}; "
            f"{result.uploads_described} uploads described meanwhile",
        ]
    )
