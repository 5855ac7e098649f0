"""`imgdesc index SOURCE --engine ray`: the folder or bucket described by a Ray Data job
on an actor pool of resident describers, written to a Qdrant server or cluster
(indexer/distributed). Ray is an optional extra (`pip install 'imgdesc[ray]'`)."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import err, progress_bar
from app.config import Settings
from describe.errors import ConfigError


def run(
    source: str,
    settings: Settings,
    *,
    workers: int,
    gpus_per_worker: float,
    batch_size: int,
    shards: int | None,
    replicas: int | None,
    ray_address: str | None,
) -> None:
    from indexer.distributed.cluster import require_qdrant_url

    url = require_qdrant_url(settings.qdrant_url)  # before anything slow
    if workers < 1 or batch_size < 1:
        raise ConfigError("--workers and --batch-size must be at least 1")
    try:
        import ray
    except ImportError:
        err.print("error: --engine ray needs Ray: pip install 'imgdesc[ray]'", markup=False)
        raise typer.Exit(2) from None
    from catalog.factory import load_models
    from indexer.distributed.job import RayProgress, Resources, run_ray_index
    from indexer.distributed.worker import WorkerSpec

    threads = settings.describe.threads
    # the collection's vector sizes, from the models the workers will load (the factory's)
    models = load_models(settings.catalog, describe=False)
    if ray_address:
        ray.init(address=ray_address, include_dashboard=False)
    else:
        # A local Ray: each worker reserves its model threads, plus room for the read and
        # hash tasks (with exactly as many logical CPUs as actors, Ray 2.60 starves them).
        ray.init(num_cpus=workers * threads + 2, include_dashboard=False)
    ray.data.DataContext.get_current().enable_progress_bars = False  # ours below
    try:
        with progress_bar() as progress:
            task = progress.add_task("hashing", total=None)

            def report(p: RayProgress) -> None:
                progress.update(
                    task,
                    completed=p.done,
                    total=p.total,
                    description=f"{p.stage} ({p.rate:.1f}/s, {p.failed} failed)",
                )

            result = run_ray_index(
                source,
                WorkerSpec(describe=settings.describe, embedding_model=settings.embedding_model),
                qdrant_url=url,
                api_key=settings.qdrant_api_key,
                dense_size=models.embedder.dim,
                image_size=models.image_size,
                failures_file=Path(settings.data_dir) / "ray-failures.jsonl",
                shards=shards,
                replicas=replicas,
                resources=Resources(
                    workers=workers,
                    gpus_per_worker=gpus_per_worker,
                    cpus_per_worker=float(threads),
                    batch_size=batch_size,
                ),
                progress=report,
            )
    finally:
        ray.shutdown()
    err.print(
        f"indexed {source} with Ray in {result.seconds:.0f} s: {result.files} files, "
        f"{result.described} described, {result.linked} linked, {result.unchanged} unchanged, "
        f"{result.failed} failed",
        markup=False,
    )
    for failure in result.failures:
        err.print(f"error: {failure.path}: {failure.error}", markup=False, soft_wrap=True)
    if result.failures:
        err.print(f"(also written to {result.failures_file})", markup=False)
    raise typer.Exit(1 if result.failures else 0)
