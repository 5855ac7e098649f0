"""`imgdesc serve`, `imgdesc index` and `imgdesc search`: the catalog of a watched
folder. The embedded store's lock is taken before any model library is imported,
so a second process on the same store stops at once (exit 2, one line)."""

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

from app.cli.common import err, from_flags, progress_bar
from app.config import Settings
from describe.errors import ImgdescError


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    watch: Annotated[Path | None, typer.Option(help="Folder to watch and index (default ./images).")] = None,
    no_watch: Annotated[
        bool,
        typer.Option(
            "--no-watch",
            help="Watch no folder: serve search and pages over a catalog another process wrote "
            "(e.g. `imgdesc index --engine ray` into --qdrant-url).",
        ),
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where the store, state and thumbnails live.")] = None,
    qdrant_url: Annotated[
        str | None, typer.Option(help="Use a Qdrant server instead of the embedded store.")
    ] = None,
    captioner: Annotated[str | None, typer.Option(help="Captioner name.")] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(help="Also answer to this host name (repeatable; '*' for any). Loopback always."),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Serve on a network address with no accounts: anyone who reaches it can read, upload "
            "and change the catalog. Without it such a server refuses to start (see imgdesc users add).",
        ),
    ] = False,
) -> None:
    """Run the web app and REST API, indexing the watched folder as files arrive."""
    import uvicorn

    if no_watch and watch is not None:
        raise ImgdescError("--watch and --no-watch: give one of them")
    settings = from_flags(
        host=host,
        port=port,
        # "" overrides the default folder and any IMGDESC_WATCH (None would leave them)
        watch="" if no_watch else watch and str(watch),
        data_dir=data_dir and str(data_dir),
        qdrant_url=qdrant_url,
        captioner=captioner,
        allowed_hosts=allowed_host,
        no_auth=no_auth or None,
    )
    accounts = _check_open(settings)
    if settings.watch:
        Path(settings.watch).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with _serving_app(settings) as app:
        address = f"http://{settings.host}:{settings.port}"
        watching = (
            f"watching {settings.watch}" if settings.watch else "watching no folder (read-only catalog)"
        )
        err.print(
            f"imgdesc: serving on {address}, {watching}, {accounts} (models load in the background)",
            markup=False,
            soft_wrap=True,
        )
        # proxy_headers=False: the app believes X-Forwarded-* from `trusted_proxies` only
        # (app/auth/web.py), not from uvicorn's default of 127.0.0.1
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False)


def _check_open(settings: Settings) -> str:
    """A server on a network address with no accounts would let anyone in: it refuses to
    start (one line), unless --no-auth accepts that, which is said at every start. Says
    whether auth is on, for the start-up line."""
    from app.auth.access import is_loopback
    from app.auth.accounts import AccountStore

    store = AccountStore(settings.data_dir)
    try:
        count = len(store.list())
    finally:
        store.close()
    said = f"{count} account{'s' if count != 1 else ''}: auth on" if count else "no accounts: auth off"
    if is_loopback(settings.host):
        return said
    has_accounts = count > 0
    if settings.no_auth:
        warning = (
            "--no-auth has no effect: this data folder has accounts, so auth is on"
            if has_accounts
            else f"--no-auth: serving on {settings.host} open to anyone who can reach it: "
            "they can read, upload and change the catalog"
        )
        err.print(f"warning: {warning}", markup=False, soft_wrap=True)
    elif not has_accounts:
        raise ImgdescError(
            f"refusing to serve on {settings.host} with no accounts: anyone who can reach it could read, "
            "upload and change the catalog; add one with `imgdesc users add NAME --role admin` "
            "or pass --no-auth to serve it open"
        )
    return said


def _claim_store(settings: Settings) -> AbstractContextManager[Any]:
    """The embedded store's lock, taken before the imports of the model libraries
    (seconds on their own) and the model loading that follow, so a second process on
    the same store stops at once with one line (exit 2). Released unless opened."""
    from catalog.store.factory import claim_store

    return claim_store(Path(settings.data_dir), settings.qdrant_url)


@contextmanager
def _serving_app(settings: Settings) -> Iterator[Any]:
    """The app, with the store's lock held from before the port is bound."""
    with _claim_store(settings) as claim:
        from app.server import create_app
        from app.services import build_services

        yield create_app(settings, partial(build_services, claim=claim))


class Engine(StrEnum):
    local = "local"
    ray = "ray"


def index(
    source: Annotated[
        str,
        typer.Argument(
            help="Folder of images to index (walked recursively); with --engine ray also s3://… or gs://…"
        ),
    ],
    data_dir: Annotated[Path | None, typer.Option(help="Where the store, state and thumbnails live.")] = None,
    qdrant_url: Annotated[
        str | None, typer.Option(help="Use a Qdrant server instead of the embedded store.")
    ] = None,
    engine: Annotated[
        Engine, typer.Option(help="local: this process; ray: a Ray Data job (needs --qdrant-url).")
    ] = Engine.local,
    workers: Annotated[int, typer.Option(help="Ray: describer actors, each holding its models.")] = 1,
    gpus_per_worker: Annotated[float, typer.Option(help="Ray: GPUs each actor reserves.")] = 0.0,
    batch_size: Annotated[int, typer.Option(help="Ray: images per describe call.")] = 8,
    shards: Annotated[int | None, typer.Option(help="Ray: shards of a new collection (cluster).")] = None,
    replicas: Annotated[int | None, typer.Option(help="Ray: copies of each shard (cluster).")] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray: the cluster to join (default: RAY_ADDRESS, else a local Ray).")
    ] = None,
) -> None:
    """Index a folder once: describe, embed and store new or changed images, drop deleted ones."""
    settings = from_flags(data_dir=data_dir and str(data_dir), qdrant_url=qdrant_url)
    if engine is Engine.ray:
        from app.cli.index_ray import run as index_with_ray

        index_with_ray(
            source,
            settings,
            workers=workers,
            gpus_per_worker=gpus_per_worker,
            batch_size=batch_size,
            shards=shards,
            replicas=replicas,
            ray_address=ray_address or os.environ.get("RAY_ADDRESS"),
        )
        return
    folder = Path(source)
    if not folder.is_dir():
        raise ImgdescError(f"{folder}: not a folder")
    # failures are listed once at the end; the indexer's own warnings would repeat them
    logging.getLogger("indexer").setLevel(logging.ERROR)
    with _claim_store(settings) as claim:  # before anything slow: "in use" comes at once
        from catalog.factory import open_catalog
        from indexer.service import index_folder

        catalog = open_catalog(settings.catalog, claim)
    describer, embedder, store = catalog.describer, catalog.embedder, catalog.store
    try:
        with progress_bar() as progress:
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


def search(
    query: Annotated[
        str,
        typer.Argument(
            help='What to look for; empty lists images by tag. -word and -"two words" leave out images '
            'holding them (quote the query: "animal -cat"; one that starts with - goes after --).'
        ),
    ] = "",
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only images with this tag (repeat).")
    ] = None,
    not_tag: Annotated[
        list[str] | None, typer.Option("--not-tag", "-T", help="Leave out images with this tag (repeat).")
    ] = None,
    limit: Annotated[int, typer.Option(help="Most hits to show.")] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where the store lives.")] = None,
    token: Annotated[
        str | None,
        typer.Option(help="API token for a running server that has accounts (default: IMGDESC_TOKEN)."),
    ] = None,
    like: Annotated[
        str | None,
        typer.Option(
            "--like",
            metavar="PATH_OR_ID",
            help="More like this: the images most like an indexed file (found by its content) or an "
            "image id, its near copies first; instead of a query.",
        ),
    ] = None,
) -> None:
    """Search the catalog by description, tags and visible text, or for images like one (--like)."""
    from app.cli.client import search_hits

    settings = from_flags(data_dir=data_dir and str(data_dir), token=token)
    body: dict[str, object]
    if like is not None:
        if query or tag or not_tag:
            raise ImgdescError("--like finds images like one image: give it without a query or tags")
        from app.cli.similar import similar_hits

        found, hits = similar_hits(settings, like, limit)
        body = {"like": found, "hits": hits}
    else:
        hits = search_hits(settings, query, tag or [], limit, not_tags=not_tag or [])
        body = {"query": query, "tags": tag or [], "not_tags": not_tag or [], "hits": hits}
    if json_out:
        sys.stdout.write(msgspec.json.encode(body).decode() + "\n")
        return
    if not hits:
        err.print("no matching images", markup=False)
        raise typer.Exit(1)
    from rich.table import Table

    table = Table("score", "file", "description", "tags", show_lines=False)
    for hit in hits:
        table.add_row(f"{hit.score:.3f}", hit.path, hit.description, ", ".join(hit.tags[:8]))
    Console(highlight=False).print(table)
