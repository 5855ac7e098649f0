"""`imgdesc bench`: benchmarks on the built-in sample set, and the Florence-2 CPU
study (`imgdesc bench florence`). Dev tooling: app/dev/bench/ is imported only here,
inside the commands, after the dev extras are checked."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import err, from_flags, require_dev_extras
from describe.errors import ImgdescError

bench = typer.Typer(
    help="Benchmark latency, throughput and memory (needs the dev extras).",
    invoke_without_command=True,
)
# the sample photos come from these packages; the report's plots need matplotlib
SAMPLE_EXTRAS = ("matplotlib", "skimage", "sklearn")


@bench.callback()
def run_benchmarks(
    ctx: typer.Context,
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
    if ctx.invoked_subcommand is not None:
        return
    try:
        search_sizes = [int(n.replace("_", "")) for n in sizes.split(",") if n.strip()]
    except ValueError:
        raise ImgdescError(f"--sizes: expected numbers separated by commas, got {sizes!r}") from None
    require_dev_extras("bench", *SAMPLE_EXTRAS)
    from app.dev.bench.report import run_all

    report = run_all(
        from_flags(),
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


@bench.command("lanes")
def lanes(
    searches: Annotated[int, typer.Option(help="Searches per phase.")] = 60,
    uploads: Annotated[int, typer.Option(help="Uploads described at once in the busy phase.")] = 4,
) -> None:
    """Search latency idle and while uploads are described and the indexer is busy (real models)."""
    require_dev_extras("bench", *SAMPLE_EXTRAS)
    from app.dev.bench.lanes import report, run

    sys.stdout.write(report(run(from_flags(), searches=searches, uploads=uploads)) + "\n")


@bench.command("ray")
def ray_scaling(
    workers: Annotated[str, typer.Option(help="Ray worker counts to measure, comma-separated.")] = "1,2",
    batch_size: Annotated[int, typer.Option(help="Images per describe call.")] = 4,
) -> None:
    """Images/s of the local indexer and of the Ray job with 1 and 2 workers, same images."""
    require_dev_extras("bench", *SAMPLE_EXTRAS, "ray")
    import os
    import tempfile

    import ray

    from app.dev.bench.scale import bench_scaling
    from app.dev.samples import build

    counts = [int(n) for n in workers.split(",") if n.strip()]
    settings = from_flags().describe
    with tempfile.TemporaryDirectory() as tmp:
        photos, _ = build(Path(tmp) / "samples")
        folder = photos[0].parent
        ray.init(num_cpus=max(counts) * settings.threads + 2, include_dashboard=False)
        try:
            rows = bench_scaling(folder, settings, workers=counts, batch_size=batch_size)
        finally:
            ray.shutdown()
    sys.stdout.write(f"load average {os.getloadavg()[0]:.2f}\n")
    for row in rows:
        sys.stdout.write(
            f"{row.engine:5} workers {row.workers}: {row.images} images in {row.seconds:.1f} s "
            f"({row.images_per_s:.2f} img/s; models {row.load_seconds:.1f} s; "
            f"Ray overhead {row.overhead_ms_per_image:.0f} ms/image)\n"
        )


@bench.command("florence")
def florence(
    variants: Annotated[
        list[str] | None, typer.Argument(help="Variants to measure (default: all; sdpa is the reference).")
    ] = None,
    runs: Annotated[int, typer.Option(help="Rounds; each variant keeps its best time.")] = 5,
    threads: Annotated[int, typer.Option(help="Torch threads.")] = 2,
    model: Annotated[
        Path | None, typer.Option(help="A Florence-2-base checkpoint folder: trained weights, real drift.")
    ] = None,
    image: Annotated[Path | None, typer.Option(help="A photo to caption (with --model).")] = None,
) -> None:
    """The Florence-2-base CPU optimisation study: each variant's latency and output drift."""
    from app.dev.bench.florence import VARIANTS, study

    unknown = [v for v in variants or [] if v not in VARIANTS]
    if unknown:
        raise ImgdescError(f"unknown variant {unknown[0]!r}; valid: {', '.join(VARIANTS)}")
    chosen = list(dict.fromkeys(variants or VARIANTS))
    report = study(chosen, runs, threads, str(model) if model else None, str(image) if image else None)
    sys.stdout.write(report + "\n")
