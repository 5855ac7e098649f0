"""What `imgdesc eval` does, between parsing flags and printing: choose the folder and
references (the built-in dev set when no folder is given), load the models once, run,
write the reports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.config import Settings
from app.evaluation import dataset
from app.evaluation.results import Evaluation
from app.evaluation.run import Progress, run_evaluation
from describe import registry
from describe.describer import Describer
from describe.files import expand
from indexer.embed import Embedder

# The dev set's references live in the source tree, next to the code that renders it.
DEVSET_REFERENCES = Path(__file__).resolve().parents[2] / "eval" / "devset.toml"
DEV = "pip install -e '.[dev]'"


def build_devset(folder: Path) -> Path:
    """Render the dev set (photos from scikit-image, scikit-learn and matplotlib, plus
    signs and charts) into `folder`; needs the dev extras."""
    try:
        from app.samples import build_devset as render

        render(folder)
    except ImportError as exc:  # scikit-image, scikit-learn: dev extras
        raise dataset.EvalError(f"the dev set needs the dev extras ({exc.name} is missing): {DEV}") from None
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
) -> tuple[Evaluation, dict[str, Path]]:
    try:  # the plots need matplotlib, a dev extra; say so before any model loads
        from app.evaluation import report
    except ImportError as exc:
        raise dataset.EvalError(f"imgdesc eval needs the dev extras ({exc.name} is missing): {DEV}") from None
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

    describer = Describer(settings.describe)
    # "auto" is what the describer resolved it to (a cached VLM, else classic)
    wanted = [describer.captioner if c == "auto" else c for c in captioners or ["auto"]]
    if "all" in wanted:  # every registered captioner; those without weights are skipped
        wanted = registry.names("caption")
    specs = [
        (c, p) for c in dict.fromkeys(wanted) for p in dict.fromkeys(profiles or [settings.describe.profile])
    ]
    embedder = Embedder(settings.embedding_model, threads=settings.describe.threads)
    embedder.load()
    ev = run_evaluation(
        folder,
        names,
        refs,
        describer,
        embedder,
        specs,
        k=k,
        reference_files=[str(f) for f in files],
        progress=progress,
        use_clip=use_clip,
    )
    return ev, report.write(ev, output)
