"""One export row per stored image, written as CSV or JSON Lines, a few rows at a time.

A row is one image content (one point), not one file: the catalog's unit is the
content, so a spreadsheet's row count is the number of images, a person's correction
appears once, and a file copied into two folders is not counted twice. `path` is the
first path (what search shows) and `paths` lists every one.

CSV follows RFC 4180 (Python's csv module: CRLF line ends, fields quoted when they
hold a comma, a quote or a line break) with a header row. A list (paths, tags,
colours) is one cell joined with LIST_SEPARATOR; JSON Lines keeps them as arrays, so a
path that itself holds "; " stays unambiguous there. A text cell that begins with
=, +, -, @, a tab or a carriage return is prefixed with ' (OWASP, "CSV Injection"):
a spreadsheet would otherwise run a file name like `=HYPERLINK(…)` as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

import msgspec

from catalog.store.base import StoredImage

LIST_SEPARATOR = "; "
# What makes a spreadsheet read a cell as a formula (OWASP's list)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows formatted per chunk: about one page of Store.scroll, so a streamed export holds
# one page of records and one chunk of text at a time
ROWS_PER_CHUNK = 256


class ExportRow(msgspec.Struct, kw_only=True):
    """What an export holds of one image; the CSV columns, in this order."""

    path: str
    paths: list[str]
    id: str
    description: str  # effective: a person's correction when there is one
    # the machine's description when a person changed it, else "" (it is `description`)
    machine_description: str
    tags: list[str]  # effective: the machine's, the file's keywords, a person's additions
    colours: list[str]  # colour names, most of the picture first
    text: str  # the text read in the picture
    width: int
    height: int
    prompt: str  # the generation prompt the file carried (or the caller gave)
    prompt_score: float | None  # how much of the prompt is seen (0..1); None: nothing checkable
    captioner: str
    described_at: str


COLUMNS = ExportRow.__struct_fields__


def export_row(point_id: str, p: StoredImage) -> ExportRow:
    machine = p.machine_description
    check = p.prompt_check
    prompt = check.prompt if check else (p.provenance.prompt if p.provenance else "")
    return ExportRow(
        path=p.paths[0] if p.paths else "",
        paths=list(p.paths),
        id=point_id,
        description=p.description,
        machine_description=machine if machine and machine != p.description else "",
        tags=list(p.tags),
        colours=[c.name for c in p.colors],
        text=p.text,
        width=p.width,
        height=p.height,
        prompt=prompt,
        prompt_score=check.score if check else None,
        captioner=p.captioner,
        described_at=p.described_at,
    )


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_cells(row: ExportRow) -> list[str | int | float]:
    cells: list[str | int | float] = []
    for name in COLUMNS:
        value = getattr(row, name)
        if isinstance(value, list):
            value = LIST_SEPARATOR.join(value)
        if value is None:
            value = ""
        cells.append(neutralise(value) if isinstance(value, str) else value)
    return cells


def csv_chunks(rows: Iterable[ExportRow], rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[str]:
    """The header, then the rows, as text chunks of up to `rows_per_chunk` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # the excel dialect: RFC 4180, CRLF line ends
    writer.writerow(COLUMNS)
    for count, row in enumerate(rows, 1):
        writer.writerow(csv_cells(row))
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def jsonl_chunks(rows: Iterable[ExportRow], rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[bytes]:
    """One JSON object per line, as byte chunks of up to `rows_per_chunk` rows."""
    encoder = msgspec.json.Encoder()
    return _chunks((encoder.encode(row) for row in rows), rows_per_chunk)


class ExportRecord(StoredImage, kw_only=True):
    """A whole stored record with its id, as GET /api/images/{id} answers: what the XMP
    sidecars are written from (the rows leave out tag sources, scores and the edit)."""

    id: str


def record_chunks(
    items: Iterable[tuple[str, StoredImage]], rows_per_chunk: int = ROWS_PER_CHUNK
) -> Iterator[bytes]:
    """Whole records as JSON Lines (an ExportRecord each), as byte chunks."""
    encoder = msgspec.json.Encoder()
    # the id spliced in front of the payload's own fields ("{" + …): no dict copy per record
    lines = (b'{"id":' + encoder.encode(pid) + b"," + encoder.encode(p)[1:] for pid, p in items)
    return _chunks(lines, rows_per_chunk)


def _chunks(lines: Iterable[bytes], rows_per_chunk: int) -> Iterator[bytes]:
    buffer = bytearray()
    for count, line in enumerate(lines, 1):
        buffer += line
        buffer += b"\n"
        if count % rows_per_chunk == 0:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)
