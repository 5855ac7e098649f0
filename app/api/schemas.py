"""The REST API's request and response bodies (msgspec structs, so OpenAPI documents
them). The error body is app/errors.py's `ErrorBody`; index status is
indexer/status.py's `IndexStatus`, shared with the pages and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar.datastructures import UploadFile

from search.service import SearchHit


@dataclass
class DescribeForm:
    """The multipart body of POST /api/describe: the image, and optionally the prompt it
    was generated from (checked against what is seen; wins over one in the file)."""

    image: UploadFile
    # a form field is text on the wire: "" (or no field) is no prompt; not `str | None`,
    # which documented a null no multipart body can carry
    prompt: str = ""


class SearchResponse(msgspec.Struct):
    query: str
    tags: list[str]
    hits: list[SearchHit]


class TagCount(msgspec.Struct):
    tag: str
    count: int
