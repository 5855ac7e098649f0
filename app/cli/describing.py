"""`imgdesc describe` and `imgdesc profiles`: describe images, list the output profiles."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from app.cli.common import err, from_flags, progress_bar
from describe.errors import ImageError

PROGRESS_MIN_FILES = 4  # a bar for one or two files is noise


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    tags = "tags"


def describe(
    paths: Annotated[list[Path], typer.Argument(help="Image files or folders (walked recursively).")],
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text, json (JSON Lines) or tags.")
    ] = (OutputFormat.text),
    profile: Annotated[str | None, typer.Option(help="Output profile (see `imgdesc profiles`).")] = None,
    captioner: Annotated[str | None, typer.Option(help="Captioner name.")] = None,
    profiles_file: Annotated[Path | None, typer.Option(help="A TOML file of extra profiles.")] = None,
    prompt: Annotated[
        str | None,
        typer.Option(
            help="The prompt the images were generated from; checked against what is seen "
            "(wins over a prompt in the file's metadata)."
        ),
    ] = None,
) -> None:
    """Describe images: one paragraph, tags, colours, composition and visible text."""
    from describe.describer import Describer
    from describe.files import expand

    config = from_flags(
        profile=profile, captioner=captioner, profiles_file=profiles_file and str(profiles_file)
    )
    describer = Describer(config.describe)
    files = list(expand(paths))
    describer.load()
    failed = 0
    with progress_bar() as progress:
        task = progress.add_task("describing", total=len(files), visible=len(files) >= PROGRESS_MIN_FILES)
        for path in files:
            try:
                result = describer.describe(path, prompt=prompt)
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


def profiles(
    profiles_file: Annotated[Path | None, typer.Option(help="A TOML file of extra profiles.")] = None,
) -> None:
    """List the output profiles."""
    from describe.render.profiles import ProfileSet

    config = from_flags(profiles_file=profiles_file and str(profiles_file))
    for profile in ProfileSet.load(config.describe.profiles_file):
        sys.stdout.write(f"{profile.name:12} {profile.description}\n")
