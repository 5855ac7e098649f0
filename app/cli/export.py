"""`imgdesc export`: the catalog, or a search's hits, as CSV, JSON Lines or XMP sidecars.

The rows and sidecars are catalog/export/'s, as GET /api/export's are. The store's lock
is tried first, as `imgdesc search` does (app/cli/client.py): when a running server
holds it, the export streams from that server's REST API (XMP from its whole records,
`format=records`); otherwise the catalog is opened here with `search_only`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import err, from_flags
from app.config import Settings
from catalog.export.sidecars import Naming
from catalog.store.base import StoredImage, StoreInUseError
from describe.errors import ImgdescError

Records = Iterator[tuple[str, StoredImage]]


class Format(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    xmp = "xmp"


def export(
    form: Annotated[
        Format, typer.Option("--format", "-f", help="csv, jsonl, or xmp (one sidecar per file).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The file to write (csv, jsonl), or the folder for the sidecars (xmp)."
        ),
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only images with this tag (repeat).")
    ] = None,
    query: Annotated[
        str, typer.Option("--query", "-q", help="Only the hits of this search, best first (at most 1000).")
    ] = "",
    sidecar_name: Annotated[
        Naming,
        typer.Option(help="xmp: darktable writes photo.jpg.xmp (the default), adobe photo.xmp."),
    ] = Naming.darktable,
    beside_originals: Annotated[
        bool,
        typer.Option(
            "--beside-originals",
            help="xmp: write each sidecar next to its image in the watched folder instead of --out.",
        ),
    ] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where the store lives.")] = None,
    token: Annotated[
        str | None,
        typer.Option(help="API token for a running server that has accounts (default: IMGDESC_TOKEN)."),
    ] = None,
) -> None:
    """Export descriptions and tags: a spreadsheet (csv), JSON Lines, or XMP sidecars
    that photo managers (darktable, digiKam, Lightroom) and exiftool read."""
    settings = from_flags(data_dir=data_dir and str(data_dir), token=token)
    target = _target(form, out, beside_originals, settings)
    tags = tag or []
    if form is Format.xmp:
        _export_sidecars(settings, target, query, tags, sidecar_name)
        return
    with _records(settings, query, tags, form) as source:
        count = _write_rows(form, source, target)
    err.print(f"exported {count} images to {target}", markup=False, soft_wrap=True)


def _target(form: Format, out: Path | None, beside_originals: bool, settings: Settings) -> Path:
    if beside_originals:
        if form is not Format.xmp:
            raise ImgdescError("--beside-originals is for --format xmp only")
        if out is not None:
            raise ImgdescError("--out and --beside-originals: give one of them")
        if not settings.watch or not Path(settings.watch).is_dir():
            raise ImgdescError(
                "--beside-originals needs the watched folder (`watch` in imgdesc.toml or IMGDESC_WATCH); "
                f"{settings.watch or 'none'} is not a folder"
            )
        return Path(settings.watch)
    if out is None:
        raise ImgdescError(f"--out is needed: the {'folder' if form is Format.xmp else 'file'} to write")
    if form is Format.xmp and out.exists() and not out.is_dir():
        raise ImgdescError(f"{out}: not a folder (xmp writes one sidecar per image into a folder)")
    if form is not Format.xmp and out.is_dir():
        raise ImgdescError(f"{out}: is a folder; give the file to write")
    return out


class _Source:
    """Where the export's records come from: this process's catalog (`records`) or a
    running server's answer (`stream`, the formatted bytes as it sends them)."""

    def __init__(self, records: Records | None = None, stream: Iterator[bytes] | None = None) -> None:
        self.records = records
        self.stream = stream


@contextmanager
def _records(settings: Settings, query: str, tags: list[str], form: Format) -> Iterator[_Source]:
    """The store's lock first: when a server holds it, the server's export."""
    from catalog.factory import open_catalog
    from catalog.store.factory import claim_store

    try:
        with claim_store(Path(settings.data_dir), settings.qdrant_url) as claim:
            catalog = open_catalog(settings.catalog, claim, search_only=True)
    except StoreInUseError as in_use:
        with _from_server(settings, query, tags, form, in_use) as stream:
            yield _Source(stream=stream)
        return
    try:
        from catalog.export.select import MAX_QUERY_HITS, all_records, ranked_records, wanted_tags
        from search.service import SearchService, clean_query

        if clean_query(query):
            search = SearchService.over(catalog)
            ranked = search.rank(clean_query(query), wanted_tags(tags), MAX_QUERY_HITS)
            yield _Source(records=ranked_records(catalog.store, [pid for pid, _ in ranked]))
        else:
            yield _Source(records=all_records(catalog.store, tags))
    finally:
        catalog.close()


@contextmanager
def _from_server(
    settings: Settings, query: str, tags: list[str], form: Format, in_use: ImgdescError
) -> Iterator[Iterator[bytes]]:
    import httpx

    from app.cli.client import auth_headers

    url = f"http://{settings.host}:{settings.port}/api/export"
    params: dict[str, str | list[str]] = {
        "format": "records" if form is Format.xmp else form.value,
        "q": query,
        "tag": tags,
    }
    try:
        with httpx.stream("GET", url, params=params, headers=auth_headers(settings), timeout=60) as response:
            if response.status_code != 200:
                response.read()
                raise ImgdescError(
                    f"the running server answered {response.status_code}: {response.text[:200]}"
                )
            yield response.iter_bytes()
    except httpx.HTTPError:
        raise in_use from None


def _write_rows(form: Format, source: _Source, target: Path) -> int:
    """Write the file whole or not at all (a temporary file renamed over it); the number
    of images exported."""
    from catalog.export.rows import ExportRow, csv_chunks, export_row, jsonl_chunks
    from describe.local_files import replacing

    count = 0

    def rows(records: Records) -> Iterator[ExportRow]:
        nonlocal count
        for pid, payload in records:
            count += 1
            yield export_row(pid, payload)

    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as tmp:
        with tmp.open("wb") as fh:
            if source.stream is not None:  # already formatted by the server
                for chunk in source.stream:
                    fh.write(chunk)
                    count += chunk.count(b"\n")
            elif form is Format.csv:
                for text in csv_chunks(rows(source.records or iter(()))):
                    fh.write(text.encode("utf-8"))
            else:
                for data in jsonl_chunks(rows(source.records or iter(()))):
                    fh.write(data)
        if source.stream is not None and form is Format.csv:
            count = _csv_rows(tmp)  # a quoted cell may hold a line break: counted by a reader
    return count


def _csv_rows(path: Path) -> int:
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)  # the header is no image


def _export_sidecars(settings: Settings, folder: Path, query: str, tags: list[str], naming: Naming) -> None:
    from catalog.export.sidecars import write_sidecars

    def problem(line: str) -> None:
        err.print(f"error: {line}", markup=False, soft_wrap=True)

    with _records(settings, query, tags, Format.xmp) as source:
        records = source.records if source.records is not None else _decoded(source.stream or iter(()))
        summary = write_sidecars(records, folder, naming, on_problem=problem)
    err.print(
        f"sidecars in {folder}: {summary.written} written, {summary.merged} merged into existing ones",
        markup=False,
        soft_wrap=True,
    )
    raise typer.Exit(1 if summary.problems else 0)


def _decoded(stream: Iterator[bytes]) -> Records:
    """The server's records (JSON Lines, `format=records`) as they arrive."""
    import msgspec

    from catalog.export.rows import ExportRecord

    decoder = msgspec.json.Decoder(ExportRecord)
    pending = b""
    for chunk in stream:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                record = decoder.decode(line)
                yield record.id, record
    if pending.strip():
        record = decoder.decode(pending)
        yield record.id, record
