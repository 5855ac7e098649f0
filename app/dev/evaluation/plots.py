"""Report plots (matplotlib, Agg backend: no display, safe in a server or CI)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: no display, safe in a server or CI
import matplotlib.pyplot as plt
import numpy as np

from app.dev.evaluation.results import NDCG_K, RunResult

QUALITY = (
    "tag_precision",
    "tag_recall",
    "colour_f1",
    "mrr",
    "hit@1",
    "recall@5",
    f"ndcg@{NDCG_K}",
    "self_retrieval@1",
)
DPI = 100


def _bars(ax: plt.Axes, labels: Sequence[str], series: dict[str, list[float]], horizontal: bool) -> None:
    width = 0.8 / max(1, len(series))
    pos = np.arange(len(labels))
    for i, (name, values) in enumerate(series.items()):
        offset = pos + (i - (len(series) - 1) / 2) * width
        if horizontal:
            ax.barh(offset, values, height=width, label=name)
        else:
            ax.bar(offset, values, width=width, label=name)
    if horizontal:
        ax.set_yticks(pos, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.05)
    else:
        ax.set_xticks(pos, labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="best")


def _save(fig: plt.Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path.name


def summary(runs: Sequence[RunResult], out: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    series = {r.label: [r.summary.get(m) or 0.0 for m in QUALITY] for r in runs}
    _bars(ax, list(QUALITY), series, horizontal=False)
    ax.set_title("Quality per captioner/profile (higher is better; missing = 0)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out / "summary.png")


def queries(runs: Sequence[RunResult], out: Path) -> str | None:
    texts = [q.text for q in runs[0].queries]
    if not texts:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.28 * len(texts) * max(1, len(runs)) ** 0.5))
    _bars(ax, texts, {r.label: [q.ndcg for q in r.queries] for r in runs}, horizontal=True)
    ax.set_title(f"nDCG@{NDCG_K} per query", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, out / "queries.png")


def tags(runs: Sequence[RunResult], out: Path) -> str | None:
    names = [i.name for i in runs[0].images if i.tag_score is not None]
    if not names:
        return None
    series = {}
    for run in runs:
        scores = {i.name: i.tag_score for i in run.images}
        series[run.label] = [(s.f1 or 0.0) if (s := scores.get(n)) else 0.0 for n in names]
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.25 * len(names) * max(1, len(runs)) ** 0.5))
    _bars(ax, names, series, horizontal=True)
    ax.set_title("Tag F1 per image (against the references)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, out / "tags.png")


def latency(runs: Sequence[RunResult], out: Path) -> str | None:
    data = [[i.describe_ms for i in r.images if not i.error] for r in runs]
    if not any(data):
        return None
    fig, ax = plt.subplots(figsize=(max(4.0, 1.5 + 1.2 * len(runs)), 3.2))
    ax.boxplot(data, tick_labels=[r.label for r in runs])
    ax.set_ylabel("describe ms per image (warm)")
    ax.set_yscale("log")
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="y", alpha=0.3, which="both")
    return _save(fig, out / "latency.png")


def all_plots(runs: Sequence[RunResult], out: Path) -> dict[str, str]:
    ok = [r for r in runs if r.status == "ok"]
    if not ok:
        return {}
    made = {
        "summary": summary(ok, out),
        "queries": queries(ok, out),
        "tags": tags(ok, out),
        "latency": latency(ok, out),
    }
    return {k: v for k, v in made.items() if v}
