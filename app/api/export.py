"""GET /api/export: the catalog (or a search's hits) as CSV or JSON Lines, streamed.

The rows come from catalog/export/ (the CLI's `imgdesc export` writes the same ones).
Rows are read and formatted a page at a time on the read pool, so a 100k-image export
holds one page in memory and never blocks the event loop; the search of an export with
a query runs before the first byte, so its errors are statuses, not a cut-off body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from app.auth.accounts import Role
from app.errors import errors
from app.services import Services
from catalog.export.rows import csv_chunks, export_row, jsonl_chunks, record_chunks
from catalog.export.select import MAX_QUERY_HITS, all_records, ranked_records, wanted_tags
from catalog.store.base import StoredImage
from search.service import clean_query


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    # every stored field of each image, one JSON object per line (as GET /api/images/{id}):
    # what `imgdesc export --format xmp` writes sidecars from beside a running server
    records = "records"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv",  # Litestar adds "; charset=utf-8" to text/*
    ExportFormat.jsonl: "application/x-ndjson",
    ExportFormat.records: "application/x-ndjson",
}
DOCUMENTED = {
    "text/csv": "RFC 4180 with a header row; lists joined with '; '; formula-like cells prefixed with '",
    "application/x-ndjson": "one JSON object per line (jsonl: the CSV's columns; records: the whole record)",
}
CONTENT_DISPOSITION = ResponseHeader(
    name="content-disposition",
    value='attachment; filename="imgdesc-export.csv"',
    description="A file name for the download: imgdesc-export.csv or .jsonl",
    documentation_only=True,
)


@dataclass
class ExportOperation(Operation):
    """The success answer's media types are the formats' (Litestar documents one)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                media: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, description=description))
                for media, description in DOCUMENTED.items()
            }


class ExportController(Controller):
    path = "/api"
    tags = ["api"]  # noqa: RUF012 - Litestar's own attribute type

    @get(
        "/export",
        role=Role.viewer,
        # no media_type here: Litestar's would win over each Stream's own (csv or ndjson)
        response_description="The rows, streamed",
        response_headers=[CONTENT_DISPOSITION],
        responses=errors(400, 503),
        operation_class=ExportOperation,
    )
    async def export(
        self,
        services: NamedDependency[Services],
        form: Annotated[ExportFormat, QueryParameter(name="format", description="csv, jsonl or records")] = (
            ExportFormat.csv
        ),
        q: FromQuery[str] = "",
        tag: FromQuery[tuple[str, ...]] = (),
    ) -> Stream:
        """One row per image: every image carrying all the `tag`s, or with `q` the search's
        hits in their order (at most 1000). Without either, the whole catalog."""
        tags, query = wanted_tags(tag), clean_query(q)
        items = all_records(services.store, tags)  # a generator: nothing is read yet
        if query:
            ranked = await services.reads.run(lambda: services.search.rank(query, tags, MAX_QUERY_HITS))
            items = ranked_records(services.store, [pid for pid, _ in ranked])
        name = f"imgdesc-export.{'csv' if form is ExportFormat.csv else 'jsonl'}"
        return Stream(
            _on_read_pool(services, _formatted(form, items)),
            media_type=MEDIA_TYPES[form],
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )


def _formatted(form: ExportFormat, items: Iterator[tuple[str, StoredImage]]) -> Iterator[str | bytes]:
    """The export's chunks, lazily: each next() reads and formats one page."""
    if form is ExportFormat.records:
        return record_chunks(items)
    rows = (export_row(pid, p) for pid, p in items)
    return csv_chunks(rows) if form is ExportFormat.csv else jsonl_chunks(rows)


async def _on_read_pool(services: Services, chunks: Iterator[str | bytes]) -> AsyncIterator[bytes]:
    """Each chunk read from the store and formatted on the read pool, one at a time."""
    while True:
        chunk = await services.reads.run(lambda: next(chunks, None))
        if chunk is None:
            return
        yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk
