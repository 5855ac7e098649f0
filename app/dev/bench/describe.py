"""Describe benchmark: warm per-analyzer and end-to-end latency (p50/p95) over
the sample set, model load time and resident memory. Prints a Markdown table.

Run with `imgdesc bench` or `make bench`. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from app.dev import samples
from app.dev.bench.measure import in_fresh_process, percentile, rss_mb
from describe.config import DescribeSettings
from describe.describer import Describer


def build_samples(folder: Path) -> tuple[list[Path], list[Path]]:
    """(photos, images with text) written into `folder`. In a fresh process, so the
    sample libraries (scikit-image, scikit-learn, matplotlib) don't count towards
    the describer's memory."""
    return in_fresh_process(samples.build, folder)


def run(
    settings: DescribeSettings | None = None,
    runs: int = 3,
    folder: Path | None = None,
    raw: dict[str, Any] | None = None,
) -> str:
    """The Markdown table; `raw`, when given, receives the numbers behind it (for plots)."""
    with tempfile.TemporaryDirectory() as tmp:
        plain, text = build_samples(folder or Path(tmp))
        rss_before, _ = rss_mb()
        start = time.perf_counter()
        describer = Describer(settings)
        describer.load()
        load_s = time.perf_counter() - start
        groups = {"photo, no text": plain, "image with text": text}
        for path in plain + text:  # warm-up: first calls allocate buffers
            describer.describe(path)
        timings: dict[str, dict[str, list[float]]] = {g: defaultdict(list) for g in groups}
        for _ in range(runs):
            for group, paths in groups.items():
                for path in paths:
                    for stage, ms in describer.describe(path).timings_ms.items():
                        timings[group][stage].append(ms)
        rss, peak = rss_mb()
    if raw is not None:
        raw.update(timings=timings, load_s=load_s, rss_mb=rss, peak_mb=peak, captioner=describer.captioner)

    lines = [
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"captioner {describer.captioner}, profile {describer.settings.profile}, "
        f"threads {describer.settings.threads}",
        f"Images: {len(plain)} photos without text, {len(text)} with text; {runs} warm runs each.",
        "",
        "| stage | photo p50 ms | photo p95 ms | text p50 ms | text p95 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    stages = list(dict.fromkeys([*timings["photo, no text"], *timings["image with text"]]))
    stages.sort(key=lambda s: s == "total")
    for stage in stages:
        a, b = timings["photo, no text"][stage], timings["image with text"][stage]
        cells = " | ".join(f"{percentile(values, q):.1f}" for values in (a, b) for q in (50, 95))
        lines.append(f"| {stage} | {cells} |")
    lines += [
        "",
        f"Model load: {load_s:.2f} s. Resident memory: {rss:.0f} MB after the run "
        f"(peak {peak:.0f} MB; {rss_before:.0f} MB before loading models).",
    ]
    return "\n".join(lines)
