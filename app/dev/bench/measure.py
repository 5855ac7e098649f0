"""What every benchmark measures with: resident memory, percentiles, and a fresh
process for numbers that must not include what this one holds."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from app.dev import stats

T = TypeVar("T")


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(current, peak) resident set size of a process in MB, from /proc; NaN when
    the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return float("nan"), float("nan")
    fields = dict(line.partition(":")[::2] for line in lines)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (NaN for no values, so tables show a gap): the evaluation's."""
    found = stats.percentile(list(values), q)
    return float("nan") if found is None else found


def p50_p95_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """Median and 95th percentile of durations in seconds, as milliseconds."""
    return percentile(seconds, 50) * 1e3, percentile(seconds, 95) * 1e3


def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a new interpreter (spawned, not forked), so nothing this process
    has imported or loaded counts towards what the call measures. `fn` must be a
    module-level function; its arguments and result are pickled."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(fn, *args).result()
