"""The `imgdesc` command line. Each command builds Settings once, then calls a
service; errors meant for people are printed as one line, never a traceback."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from app.config import Settings, load_settings
from app.models_cli import models
from describe.errors import ImageError, ImgdescError

cli = typer.Typer(
    name="imgdesc",
    help="Describe images locally and find them by what is in them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli.add_typer(models, name="models")
err = Console(stderr=True, highlight=False)
PROGRESS_MIN_FILES = 4  # a bar for one or two files is noise


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    tags = "tags"


def _settings(**overrides: Any) -> Settings:
    return load_settings(overrides)


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


@cli.command()
def describe(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders (walked recursively).")],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text, json (JSON Lines) or tags.")
    ] = (OutputFormat.text),
    profile: Annotated[str | None, typer.Option(help="Output profile (see `imgdesc profiles`).")] = None,
    captioner: Annotated[str | None, typer.Option(help="Captioner name.")] = None,
    profiles_file: Annotated[Path | None, typer.Option(help="A TOML file of extra profiles.")] = None,
) -> None:
    """Describe images: one paragraph, tags, colours, composition and visible text."""
    from describe.describer import Describer
    from describe.files import expand

    settings = _settings(
        profile=profile, captioner=captioner, profiles_file=profiles_file and str(profiles_file)
    )
    describer = Describer(settings.describe)
    files = list(expand(paths))
    describer.load()
    failed = 0
    with _progress() as progress:
        task = progress.add_task("describing", total=len(files), visible=len(files) >= PROGRESS_MIN_FILES)
        for path in files:
            try:
                result = describer.describe(path)
            except ImageError as exc:
                failed += 1
                progress.console.print(f"error: {exc.message}", markup=False, soft_wrap=True)
            else:
                _emit(path, result, format, many=len(files) > 1)
            progress.advance(task)
    if not files:
        err.print("error: no image files found", markup=False)
    raise typer.Exit(1 if failed or not files else 0)


def _emit(path: Path, result: Any, format: OutputFormat, many: bool) -> None:
    if format is OutputFormat.json:
        record = {"path": str(path), **msgspec.to_builtins(result)}
        sys.stdout.write(msgspec.json.encode(record).decode() + "\n")
    elif format is OutputFormat.tags:
        tags = ", ".join(result.tags)
        sys.stdout.write(f"{path}\t{tags}\n" if many else tags + "\n")
    else:
        sys.stdout.write(f"{path}\n{result.description}\n\n" if many else result.description + "\n")
    sys.stdout.flush()


@cli.command()
def profiles(
    profiles_file: Annotated[Path | None, typer.Option(help="A TOML file of extra profiles.")] = None,
) -> None:
    """List the output profiles."""
    from describe.profiles import ProfileSet

    settings = _settings(profiles_file=profiles_file and str(profiles_file))
    for profile in ProfileSet.load(settings.describe.profiles_file):
        sys.stdout.write(f"{profile.name:12} {profile.description}\n")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    watch: Annotated[Path | None, typer.Option(help="Folder to watch and index (default ./images).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where the store, state and thumbnails live.")] = None,
    qdrant_url: Annotated[
        str | None, typer.Option(help="Use a Qdrant server instead of the embedded store.")
    ] = None,
    captioner: Annotated[str | None, typer.Option(help="Captioner name.")] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(help="Also answer to this host name (repeatable; '*' for any). Loopback always."),
    ] = None,
) -> None:
    """Run the web app and REST API, indexing the watched folder as files arrive."""
    import uvicorn

    settings = _settings(
        host=host,
        port=port,
        watch=watch and str(watch),
        data_dir=data_dir and str(data_dir),
        qdrant_url=qdrant_url,
        captioner=captioner,
        allowed_hosts=allowed_host,
    )
    if settings.watch:
        Path(settings.watch).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with _serving_app(settings) as app:
        address = f"http://{settings.host}:{settings.port}"
        err.print(f"imgdesc: serving on {address} (models load in the background)")
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


def _claim_store(settings: Settings) -> AbstractContextManager[Any]:
    """The embedded store's lock, taken before the imports of the model libraries
    (seconds on their own) and the model loading that follow, so a second process on
    the same store stops at once with one line (exit 2). Released unless opened."""
    from indexer.store.factory import claim_store

    return claim_store(Path(settings.data_dir), settings.qdrant_url)


@contextmanager
def _serving_app(settings: Settings) -> Iterator[Any]:
    """The app, with the store's lock held from before the port is bound."""
    with _claim_store(settings) as claim:
        from app.server import create_app
        from app.services import build_services

        yield create_app(settings, partial(build_services, claim=claim))


@cli.command()
def index(
    folder: Annotated[Path, typer.Argument(help="Folder of images to index (walked recursively).")],
    data_dir: Annotated[Path | None, typer.Option(help="Where the store, state and thumbnails live.")] = None,
    qdrant_url: Annotated[
        str | None, typer.Option(help="Use a Qdrant server instead of the embedded store.")
    ] = None,
) -> None:
    """Index a folder once: describe, embed and store new or changed images, drop deleted ones."""
    if not folder.is_dir():
        raise ImgdescError(f"{folder}: not a folder")
    settings = _settings(data_dir=data_dir and str(data_dir), qdrant_url=qdrant_url)
    # failures are listed once at the end; the indexer's own warnings would repeat them
    logging.getLogger("indexer").setLevel(logging.ERROR)
    with _claim_store(settings) as claim:  # before anything slow: "in use" comes at once
        from app.services import open_catalog_store
        from describe.describer import Describer
        from indexer.embed import Embedder
        from indexer.service import index_folder

        describer = Describer(settings.describe)
        embedder = Embedder(settings.embedding_model, threads=settings.describe.threads)
        store = open_catalog_store(settings, embedder, claim)
    try:
        describer.load()
        with _progress() as progress:
            task = progress.add_task("indexing", total=None)

            def report(done: int, total: int, path: str) -> None:
                progress.update(task, completed=done, total=total, description=f"indexing {path[-40:]}")

            summary = index_folder(folder, settings.data_dir, describer, embedder, store, progress=report)
    finally:
        store.close()
    counts = ", ".join(f"{v} {k}" for k, v in summary.items() if v)
    err.print(f"indexed {folder}: {counts or 'nothing to do'}", markup=False)
    # every file that is still failing, including ones unchanged since an earlier run
    from indexer.state import IndexState

    state = IndexState(settings.data_dir)
    try:
        failures = state.failures(limit=1_000_000)
    finally:
        state.close()
    for row in failures:
        line = row.error if row.error.startswith(row.path) else f"{row.path}: {row.error}"
        err.print(f"error: {line}", markup=False, soft_wrap=True)
    raise typer.Exit(1 if failures else 0)


@cli.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for; empty lists images by tag.")] = "",
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only images with this tag (repeat).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Most hits to show.")] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where the store lives.")] = None,
) -> None:
    """Search the catalog by description, tags and visible text."""
    from app.client import search_hits

    settings = _settings(data_dir=data_dir and str(data_dir))
    hits = search_hits(settings, query, tag or [], limit)
    if json_out:
        sys.stdout.write(
            msgspec.json.encode({"query": query, "tags": tag or [], "hits": hits}).decode() + "\n"
        )
        return
    if not hits:
        err.print("no matching images", markup=False)
        raise typer.Exit(1)
    from rich.table import Table

    table = Table("score", "file", "description", "tags", show_lines=False)
    for hit in hits:
        table.add_row(f"{hit.score:.3f}", hit.path, hit.description, ", ".join(hit.tags[:8]))
    Console(highlight=False).print(table)


@cli.command()
def bench(
    runs: Annotated[int, typer.Option(help="Warm runs over the sample set.")] = 3,
    output: Annotated[Path | None, typer.Option(help="Also write the Markdown report here.")] = None,
    captioner: Annotated[
        list[str] | None, typer.Option(help="Describe bench per captioner (repeat).")
    ] = None,
    search: Annotated[bool, typer.Option("--search", help="Search latency vs collection size.")] = False,
    system: Annotated[
        bool, typer.Option("--system", help="Start-up, indexing throughput, search end to end, memory.")
    ] = False,
    all_parts: Annotated[bool, typer.Option("--all", help="Describe, system and search benches.")] = False,
    sizes: Annotated[str, typer.Option(help="Collection sizes for --search.")] = "1000,10000,30000,100000",
    report_dir: Annotated[Path, typer.Option(help="Folder for report.md, results.json, plots.")] = (
        Path("bench-results")
    ),
) -> None:
    """Benchmark latency, throughput and memory on the built-in sample set (needs the dev extras)."""
    from app.bench_report import run_all

    try:
        search_sizes = [int(n.replace("_", "")) for n in sizes.split(",") if n.strip()]
    except ValueError:
        raise ImgdescError(f"--sizes: expected numbers separated by commas, got {sizes!r}") from None
    report = run_all(
        _settings(),
        report_dir,
        runs=runs,
        captioners=captioner or [],
        search_sizes=search_sizes if search or all_parts else [],
        system=system or all_parts,
        log=lambda line: err.print(line, markup=False, soft_wrap=True),
    )
    sys.stdout.write(report)
    if output:
        output.write_text(report)
    err.print(f"report: {report_dir / 'report.md'} (plots and results.json beside it)", markup=False)


@cli.command("eval")
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
    from app.evaluation.command import evaluate as run_eval
    from app.evaluation.command import summary_lines

    if devset and folder is not None:
        raise ImgdescError("give a folder or --devset, not both")
    with _progress() as progress:
        task = progress.add_task("evaluating", total=None)

        def report(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=f"describing {label[-40:]}")

        ev, files = run_eval(
            _settings(),
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


def main() -> None:
    # OpenMP threads that spin while waiting steal the core the other model runtime
    # needs: a search query's embedding took ~490 ms instead of ~15 ms while the
    # indexer was describing. Must be set before torch starts its thread pool.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        cli()
    except ImgdescError as exc:
        err.print(f"error: {exc.message}", markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
