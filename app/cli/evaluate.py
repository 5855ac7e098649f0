"""`imgdesc eval`: description and search quality, with or without references.
Dev tooling: app/dev/evaluation/ is imported only here, after the dev extras are checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import err, from_flags, progress_bar, require_dev_extras
from describe.errors import ImgdescError


def evaluate(
    folder: Annotated[
        Path | None, typer.Argument(help="Images to evaluate (walked recursively); none: the dev set.")
    ] = None,
    references: Annotated[
        list[Path] | None, typer.Option(help="TOML of expected tags/colours per image (docs/EVALUATION.md).")
    ] = None,
    queries: Annotated[
        list[Path] | None, typer.Option(help="TOML of queries and the images each should find.")
    ] = None,
    captioner: Annotated[
        list[str] | None, typer.Option(help="Captioner to evaluate (repeat; 'all' for every one).")
    ] = None,
    profile: Annotated[list[str] | None, typer.Option(help="Profile to evaluate (repeat).")] = None,
    output: Annotated[Path, typer.Option(help="Folder for report.md, report.html, results.json, plots.")] = (
        Path("eval-results")
    ),
    devset: Annotated[bool, typer.Option("--devset", help="Evaluate the built-in dev set.")] = False,
    k: Annotated[int, typer.Option(help="Search results ranked per query.")] = 10,
    clip: Annotated[bool, typer.Option(help="CLIPScore, when a CLIP model is in the local cache.")] = True,
    baseline: Annotated[
        str, typer.Option(help="Score a reference beside imgdesc: 'naive' (docs/EVALUATION.md) or 'none'.")
    ] = "naive",
) -> None:
    """Measure description quality, search quality and cost, with or without references."""
    if devset and folder is not None:
        raise ImgdescError("give a folder or --devset, not both")
    # the plots need matplotlib; rendering the project dev set (no folder) the sample photos
    require_dev_extras("eval", "matplotlib", *(("skimage", "sklearn") if folder is None else ()))
    from app.dev.evaluation.command import evaluate as run_eval
    from app.dev.evaluation.command import summary_lines

    with progress_bar() as progress:
        task = progress.add_task("evaluating", total=None)

        def report(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=f"describing {label[-40:]}")

        ev, files = run_eval(
            from_flags(),
            folder,
            output,
            references or [],
            queries or [],
            captioner or [],
            profile or [],
            k=k,
            use_clip=clip,
            progress=report,
            baseline=baseline,
        )
    for line in summary_lines(ev):
        err.print(line, markup=False, soft_wrap=True)
    err.print(
        f"report: {files['markdown']} and {files['html']} (raw numbers in {files['json']})",
        markup=False,
        soft_wrap=True,
    )
    raise typer.Exit(0 if any(r.status == "ok" for r in ev.runs) else 1)
