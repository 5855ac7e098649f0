"""What `imgdesc eval` does, between parsing flags and printing: choose the folder and
references (the built-in dev set when no folder is given), load the models once, run,
write the reports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.config import Settings
from app.dev.evaluation import baseline as naive
from app.dev.evaluation import dataset
from app.dev.evaluation.results import Evaluation, RunResult
from app.dev.evaluation.run import Progress, run_evaluation
from catalog.factory import load_models
from describe import registry
from describe.files import expand

# The project dev set's references: package data beside this code, so an installed
# wheel has them too (the images are rendered by app/dev/samples.py).
DEVSET_REFERENCES = Path(__file__).resolve().parent / "data" / "devset.toml"


def build_devset(folder: Path) -> Path:
    """Render the dev set (photos from scikit-image, scikit-learn and matplotlib, plus
    signs and charts) into `folder`; needs the dev extras (the CLI checks first)."""
    from app.dev.samples import build_devset as render

    render(folder)
    return folder


def evaluate(
    settings: Settings,
    folder: Path | None,
    output: Path,
    references: Sequence[Path] = (),
    queries: Sequence[Path] = (),
    captioners: Sequence[str] = (),
    profiles: Sequence[str] = (),
    k: int = 10,
    use_clip: bool = True,
    progress: Progress | None = None,
    baseline: str = "naive",
) -> tuple[Evaluation, dict[str, Path]]:
    if baseline not in naive.CHOICES:
        raise dataset.EvalError(f"unknown baseline {baseline!r}; valid: {', '.join(naive.CHOICES)}")
    from app.dev.evaluation import report  # matplotlib, a dev extra: imported before any model loads

    if folder is None:
        if not DEVSET_REFERENCES.is_file():
            raise dataset.EvalError(f"the dev set's references are missing: {DEVSET_REFERENCES}")
        folder = build_devset(output / "devset")
        references = [DEVSET_REFERENCES, *references]
    if not folder.is_dir():
        raise dataset.EvalError(f"{folder}: not a folder")
    names = [p.relative_to(folder).as_posix() for p in expand([folder])]
    if not names:
        raise dataset.EvalError(f"{folder}: no image files found")
    files = [*references, *queries]
    refs = dataset.merge(*(dataset.load(f) for f in files))
    dataset.check_against(refs, set(names), ", ".join(str(f) for f in files))

    # the catalog's models as the server has them; each run loads its own captioner
    models = load_models(settings.catalog, describe=False)
    # "auto" is what the describer resolved it to (a cached VLM, else classic)
    wanted = [models.describer.captioner if c == "auto" else c for c in captioners or ["auto"]]
    if "all" in wanted:  # every registered captioner; those without weights are skipped
        wanted = registry.names("caption")
    specs = [
        (c, p) for c in dict.fromkeys(wanted) for p in dict.fromkeys(profiles or [settings.describe.profile])
    ]
    ev = run_evaluation(
        folder,
        names,
        refs,
        models,
        specs,
        k=k,
        reference_files=[str(f) for f in files],
        progress=progress,
        use_clip=use_clip,
        with_baseline=baseline == "naive",
    )
    return ev, report.write(ev, output)


# (shown as, summary key, decimals) on the one line printed per run
SUMMARY_SHOWN = (
    ("MRR", "mrr", 3), ("hit@1", "hit@1", 3), ("recall@5", "recall@5", 3), ("nDCG@5", "ndcg@5", 3),
    ("tag P", "tag_precision", 3), ("tag R", "tag_recall", 3),
    ("tag R +text", "tag_recall_text", 3), ("colour F1", "colour_f1", 3),
    ("self@1", "self_retrieval@1", 3), ("words", "words_mean", 1),
)  # fmt: skip


def summary_line(run: RunResult) -> str:
    """'classic/default: MRR 0.674, hit@1 0.474, …, subjectless 4/32'"""
    s = run.summary
    shown = [f"{label} {s[key]:.{digits}f}" for label, key, digits in SUMMARY_SHOWN if s.get(key) is not None]
    if s.get("subjectless") is not None:
        shown.append(f"subjectless {s['subjectless']:.0f}/{len(run.images) - (s.get('failed') or 0):.0f}")
    return f"{run.label}: {', '.join(shown)}"


def summary_lines(ev: Evaluation) -> list[str]:
    """What `imgdesc eval` prints: per run its summary, then (beside a baseline) its difference."""
    lines = []
    for run in ev.runs:
        if run.status == "skipped":
            lines.append(f"skipped {run.label}: {run.reason}")
            continue
        lines.append(summary_line(run))
        if run.vs_baseline:
            lines.append("  " + naive.difference_line(run.vs_baseline))
    return lines
