"""What every command shares: the settings, the stderr console, the progress bar,
and the check that dev-only commands have their extras installed."""

from __future__ import annotations

import importlib.util
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from app.config import Settings, load_settings

err = Console(stderr=True, highlight=False)
DEV_INSTALL = "pip install 'imgdesc[dev]'; in a checkout, make install-dev"


def from_flags(**overrides: Any) -> Settings:
    """The settings: defaults < imgdesc.toml < IMGDESC_* < these flags (None: not given)."""
    return load_settings(overrides)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def require_dev_extras(command: str, *modules: str) -> None:
    """Stop with one line (exit 2) when a dev-only command lacks its extras, before any
    of its modules is imported or any model loads."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        err.print(
            f"error: `imgdesc {command}` needs the dev extras ({', '.join(missing)} missing): {DEV_INSTALL}",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
