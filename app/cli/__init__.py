"""The `imgdesc` command line: the Typer root, one module per command group.

describing.py: describe, profiles; catalog.py: serve, index, search (client.py asks a
running server); export.py: export; users.py: users add/list/remove/token/password (the
accounts); models.py: models prepare/list/pull/bench; bench.py
and evaluate.py: the dev tools (their code, in app/dev/bench/ and app/dev/evaluation/, is
imported only when they run). Each command builds Settings once, then calls a service; errors meant for
people are printed as one line, never a traceback."""

from __future__ import annotations

import os
import sys

import typer

from app.cli import catalog, describing
from app.cli.bench import bench
from app.cli.common import err
from app.cli.evaluate import evaluate
from app.cli.export import export
from app.cli.models import models
from app.cli.users import users
from describe.errors import ImgdescError

cli = typer.Typer(
    name="imgdesc",
    help="Describe images locally and find them by what is in them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli.command()(describing.describe)
cli.command()(describing.profiles)
cli.command()(catalog.serve)
cli.command()(catalog.index)
cli.command()(catalog.search)
cli.command()(export)
cli.add_typer(users, name="users")
cli.add_typer(models, name="models")
cli.add_typer(bench, name="bench")
cli.command("eval")(evaluate)


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
