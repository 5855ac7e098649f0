"""Write `imgdesc bench` results as Markdown, JSON and PNG plots into a folder."""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: no display needed
import matplotlib.pyplot as plt
import msgspec
import numpy as np

from app.config import Settings
from app.dev.bench.measure import percentile
from app.dev.bench.search import KINDS, SizeResult
from app.dev.bench.system import SystemResult
from describe.errors import ImgdescError

STATE_NAMES = {"plain": "before optimize", "hnsw": "after optimize (as the app keeps it)"}


def describe_plot(raw: dict[str, Any], out: Path, name: str) -> str:
    timings: dict[str, dict[str, list[float]]] = raw["timings"]
    groups = list(timings)
    stages = [s for s in dict.fromkeys(s for g in groups for s in timings[g]) if s not in ("total", "trim")]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.8 / len(groups)
    for i, group in enumerate(groups):
        p50 = [percentile(timings[group].get(s) or [0], 50) for s in stages]
        p95 = [percentile(timings[group].get(s) or [0], 95) for s in stages]
        pos = np.arange(len(stages)) + (i - (len(groups) - 1) / 2) * width
        ax.bar(pos, p50, width=width, label=f"{group} (p50; whisker p95)")
        ax.errorbar(pos, p50, yerr=[np.zeros(len(stages)), np.subtract(p95, p50)], fmt="none", ecolor="black")
    ax.set_xticks(np.arange(len(stages)), stages, fontsize=8)
    ax.set_ylabel("ms per image")
    ax.set_title(f"Describe latency per stage (captioner {raw['captioner']}, warm)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / name, dpi=100)
    plt.close(fig)
    return name


def search_plot(results: Sequence[SizeResult], out: Path) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), sharey=True)
    for ax, (col, label) in zip(axes, [(0, "p50"), (1, "p95")], strict=True):
        for i, kind in enumerate(KINDS):
            for state, style in (("plain", "-"), ("hnsw", "--")):
                rows = [r for r in results if r.state == state]
                ax.plot([r.n for r in rows], [r.latency_ms[kind][col] for r in rows], style, marker="o",
                        color=f"C{i}", label=f"{kind}, {STATE_NAMES[state]}")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("points in the store")
        ax.set_title(f"store query latency, {label}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("ms")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7)
    fig.tight_layout(rect=(0, 0.14, 1, 1))  # room for the legend below the plots
    fig.savefig(out / "search.png", dpi=100)
    plt.close(fig)
    return "search.png"


def search_table(results: Sequence[SizeResult]) -> str:
    head = " | ".join(f"{k} p50 | {k} p95" for k in KINDS)
    lines = [
        f"| points | store | {head} | load / optimise s | resident MB (heap) | disk MB | recall 1@20 | "
        "recall@20 vs exact |",
        "|---:|---|" + "---:|" * (2 * len(KINDS) + 5),
    ]
    for r in results:
        cells = " | ".join(f"{r.latency_ms[k][0]:.2f} | {r.latency_ms[k][1]:.2f}" for k in KINDS)
        lines.append(
            f"| {r.n:,} | {STATE_NAMES[r.state]} | {cells} | {r.load_s:.1f} | {r.rss_mb:.0f} "
            f"({r.rss_anon_mb:.0f}) | {r.disk_mb:.0f} | {r.recall:.0%} | {r.recall_exact:.0%} |"
        )
    return "\n".join(lines)


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} MB"


def search_at_scale(s: SystemResult, search: Sequence[SizeResult] | None) -> str:
    """Issue 12's row: query embedding p95 (this run) + the store's hybrid + tag p95 at
    the largest size of `--search`, optimised as the app leaves it after a bulk load."""
    rows = [r for r in search or () if r.state == "hnsw"]
    if not rows:
        return "run with `--search` (or `--all`): 100k points take minutes to load"
    top = max(rows, key=lambda r: r.n)
    store_p95 = top.latency_ms["hybrid + tag"][1]
    return f"{s.embed_ms[1] + store_p95:.1f} ms at {top.n:,} points ({s.embed_ms[1]:.1f} + {store_p95:.1f})"


def system_table(s: SystemResult, search: Sequence[SizeResult] | None = None) -> str:
    def sec(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f} s"

    rows = [
        ("`imgdesc --help` (interpreter + CLI, no models)", sec(s.cli_help_s)),
        ("`imgdesc describe one.jpg` (load models, one image, exit)", sec(s.cli_describe_s)),
        ("`imgdesc serve`: port answers (models loading in the background)", sec(s.serve_http_s)),
        ("`imgdesc serve`: `/api/health` ok (models loaded, store open)", sec(s.serve_ready_s)),
        ("server resident memory once ready (idle)", _mb(s.serve_rss_mb)),
        ("models load in-process (describer + embedder)", sec(s.models_load_s)),
        (f"index {s.images} sample images end to end (describe, embed, thumbnail, store)", sec(s.index_s)),
        ("indexing throughput", f"{s.images_per_s:.2f} images/s"),
        ("describing the same images alone, same run", f"{s.describe_only_per_s:.2f} images/s"),
        ("indexing vs describe-only throughput (median of the pass pairs; each pair)",
         f"{s.images_per_s / s.describe_only_per_s:.2f}× ({' / '.join(f'{r:.2f}' for r in s.pass_ratios)})"
         if s.describe_only_per_s else "—"),
        (f"`imgdesc index` of the {s.images} images in a fresh process (models load included)",
         sec(s.cli_index_s)),
        ("`imgdesc index` peak resident memory", _mb(s.cli_index_peak_mb)),
        ("`imgdesc describe one.jpg` peak resident memory", _mb(s.cli_describe_peak_mb)),
        *((f"`load_image` of a {p.name} ({p.file_mb:.0f} MB file): peak memory of the process",
           f"{_mb(p.peak_mb)} ({_mb(p.before_mb)} before)") for p in s.intake_peaks),
        ("query embedding p50 / p95", f"{s.embed_ms[0]:.1f} / {s.embed_ms[1]:.1f} ms"),
        ("search end to end (embed + hybrid query, 28 images) p50 / p95",
         f"{s.search_ms[0]:.1f} / {s.search_ms[1]:.1f} ms"),
        ("search p95 end to end at scale, hybrid + one tag filter", search_at_scale(s, search)),
        ("machine load (1-minute load average, start / end)", f"{s.load_avg[0]:.2f} / {s.load_avg[1]:.2f}"),
    ]  # fmt: skip
    return "\n".join(["| measure | value |", "|---|---:|", *(f"| {a} | {b} |" for a, b in rows)])


def write(
    out: Path,
    describe: Sequence[tuple[str, dict[str, Any]]] = (),
    search: Sequence[SizeResult] | None = None,
    system: SystemResult | None = None,
) -> str:
    """Write report.md (returned), results.json and the plots into `out`. `describe` holds
    one (Markdown table, raw numbers) pair per captioner; raw is empty for a skipped one."""
    out.mkdir(parents=True, exist_ok=True)
    parts = [
        "# imgdesc benchmark",
        "",
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}. "
        "Wall-clock times on a machine that may be shared: treat them as rough.",
    ]
    for i, (table, raw) in enumerate(describe):
        title = f"Describe latency ({raw['captioner']})" if raw else "Describe latency"
        parts += ["", f"## {title}", "", table]
        if raw:
            plot = describe_plot(raw, out, "describe.png" if i == 0 else f"describe-{raw['captioner']}.png")
            parts += ["", f"![describe latency per stage]({plot})"]
    if system is not None:
        parts += ["", "## Start-up, throughput, memory", "", system_table(system, search)]
    if search:
        parts += [
            "",
            "## Search latency against collection size",
            "",
            "Synthetic 384-d points with Zipf-distributed tags and terms; the store query alone "
            "(add the query embedding above for what a user waits). ms unless noted. Hybrid: the "
            "app's four views, 100 candidates each. Resident: what opening the store and querying "
            "it added to a fresh process (VmRSS; in brackets its heap, the rest is mapped files, "
            "which the kernel can drop). Recall 1@20: the share of queries (a point's vector plus "
            "noise) whose source point, their exact nearest neighbour, is in the dense top 20; "
            "recall@20 vs exact: the overlap of that top 20 with the exact one, whose ranks 2 to 20 "
            "are near ties on random vectors.",
            "",
            search_table(search),
            "",
            f"![search latency vs collection size]({search_plot(search, out)})",
        ]
    report = "\n".join(parts) + "\n"
    (out / "report.md").write_text(report)
    raw_all = {"describe": [raw for _, raw in describe], "search": search, "system": system}
    (out / "results.json").write_bytes(msgspec.json.format(msgspec.json.encode(raw_all), indent=1) + b"\n")
    return report


def run_all(
    settings: Settings,
    out: Path,
    runs: int = 3,
    captioners: Sequence[str] = (),
    describe: bool = True,
    search_sizes: Sequence[int] = (),
    system: bool = False,
    log: Callable[[str], None] = print,
) -> str:
    """What `imgdesc bench` runs; a captioner that cannot load is listed as skipped."""
    from app.dev.bench import describe as bench_describe
    from app.dev.bench import search as bench_search
    from app.dev.bench import system as bench_system

    sections: list[tuple[str, dict[str, Any]]] = []
    for name in (captioners or [settings.describe.captioner]) if describe else []:
        raw: dict[str, Any] = {}
        chosen = msgspec.structs.replace(settings.describe, captioner=name)
        try:
            table = bench_describe.run(chosen, runs=runs, raw=raw)
        except ImgdescError as exc:
            sections.append((f"Captioner {name} skipped: {exc.message}", {}))
            continue
        raw["timings"] = {group: dict(stages) for group, stages in raw["timings"].items()}
        sections.append((table, raw))
    sys_result = bench_system.run(settings, log=log) if system else None
    results = bench_search.run(search_sizes, log=log) if search_sizes else None
    return write(out, sections, results, sys_result)
