"""The REST API's request and response bodies (msgspec structs, so OpenAPI documents
them). The error body is app/errors.py's `ErrorBody`; index status is
indexer/status.py's `IndexStatus`, shared with the pages and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar.datastructures import UploadFile
from litestar.params import Body

from catalog.curate import MAX_BULK
from catalog.edits import MAX_DESCRIPTION, MAX_TAG
from catalog.store.base import StoredImage
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
    not_tags: list[str] = []
    # the words and phrases `-word` / `-"…"` took out of the query (lower case)
    excluded: list[str] = []


class TagCount(msgspec.Struct):
    tag: str
    count: int


# --- people's edits (app/api/edits.py) --------------------------------------------------

# a tag as sent: some character that is not a space or an underscore (those normalise to
# nothing), at most MAX_TAG. Litestar leaves a list item's constraints out of the OpenAPI
# document, so the lists spell them out again for it.
_TAG_PATTERN = r"[^\s_]"
_TAG_ITEM = {"type": "string", "minLength": 1, "maxLength": MAX_TAG, "pattern": _TAG_PATTERN}
MAX_TAGS = 100  # tags added, or removed, in one request
TagName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TAG, pattern=_TAG_PATTERN)]


def _tags(description: str) -> Any:
    return msgspec.Meta(
        max_length=MAX_TAGS, extra_json_schema={"description": description, "extra": {"items": _TAG_ITEM}}
    )


DescriptionText = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_DESCRIPTION,
        extra_json_schema={"description": "The person's text; null or blank: back to the machine's"},
    ),
]
# an unknown field is refused (400); Litestar does not say so in the document by itself
CLOSED = Body(schema_extra={"additionalProperties": False})


class ImageEdit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of PATCH /api/images/{id}: any of these fields. Tags are normalised as the
    describer's are (lower-case, singular); adds are applied before removes."""

    add_tags: Annotated[list[TagName], _tags("Tags to add (source `user` in `tag_details`)")] = []
    remove_tags: Annotated[list[TagName], _tags("Tags to take off, the machine's or added ones")] = []
    description: DescriptionText | msgspec.UnsetType | None = msgspec.UNSET


class TagChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of POST /api/images/tags: the same tags added to and taken off every image
    in `ids` (a search result or a selection); all are checked before any is changed."""

    ids: Annotated[list[str], msgspec.Meta(max_length=MAX_BULK)]
    add: Annotated[list[TagName], _tags("Tags to add to every image")] = []
    remove: Annotated[list[TagName], _tags("Tags to take off every image")] = []


class TagChangeResult(msgspec.Struct):
    images: int  # how many images the change was for
    changed: list[str]  # the ids of those whose tags it changed


def image_body(image_id: str, record: StoredImage) -> dict[str, Any]:
    """An image as GET and PATCH /api/images/{id} send it: the stored record, its edit
    spelled out in full (the store leaves out empty fields; `edited_by` is null until
    there are accounts)."""
    body: dict[str, Any] = {"id": image_id, **msgspec.to_builtins(record)}
    if record.edit is not None:
        edit = record.edit
        body["edit"] = {name: msgspec.to_builtins(getattr(edit, name)) for name in edit.__struct_fields__}
    return body
