"""PNG text chunks Pillow cannot keep.

Pillow refuses the whole image when one zTXt or iTXt chunk decompresses past
`PngImagePlugin.MAX_TEXT_CHUNK` (a zip bomb in a comment); the picture is still worth
describing, so intake retries without those chunks and keeps a note for each
(describe/intake.py). An iTXt chunk that is not UTF-8 Pillow drops without a word; it
gets a note too. Each chunk is inflated at most to the limit: the checks cost no more
memory than Pillow's own would.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from PIL import PngImagePlugin

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_KINDS = (b"zTXt", b"iTXt")


class _Text(NamedTuple):
    key: str
    labels: tuple[bytes, ...]  # iTXt's language tag and translated keyword; none for zTXt
    payload: bytes
    compressed: bool


class _Chunk(NamedTuple):
    kind: bytes
    start: int  # offset of its length field
    end: int  # offset just past its CRC
    text: _Text | None  # parsed, for the compressed-text kinds


def drop_oversized_text(data: bytes) -> tuple[bytes, list[str]]:
    """`data` without the compressed text chunks that inflate past the limit, and a note
    for each; anything that is not a well-formed PNG comes back as it was."""
    kept, notes, pos = [], [], 0
    for chunk in _chunks(io.BytesIO(data)):
        if chunk.text is not None and chunk.text.compressed and _inflated(chunk.text.payload)[1]:
            kept.append(data[pos : chunk.start])
            pos = chunk.end
            limit = PngImagePlugin.MAX_TEXT_CHUNK // 2**20
            notes.append(
                f"the {chunk.kind.decode()} chunk {chunk.text.key!r} inflates past {limit} MiB: skipped"
            )
    kept.append(data[pos:])  # the rest, and whatever trails the last whole chunk
    return (b"".join(kept), notes) if notes else (data, [])


def undecodable_text(fh: BinaryIO) -> list[str]:
    """A note for each iTXt chunk whose text is not UTF-8. Walks the chunk headers
    (seeking past every other chunk's data) and leaves `fh` where it was."""
    start = fh.tell()
    notes: list[str] = []
    try:
        for chunk in _chunks(fh, read_up_to=PngImagePlugin.MAX_TEXT_CHUNK):
            if chunk.kind == b"iTXt" and chunk.text is not None and not _utf8(chunk.text):
                notes.append(f"the iTXt chunk {chunk.text.key!r} is not valid UTF-8: ignored")
    except OSError:
        pass  # a damaged file: decoding reports it
    finally:
        fh.seek(start)
    return notes


def _chunks(fh: BinaryIO, read_up_to: int | None = None) -> Iterator[_Chunk]:
    """The chunks up to IEND; only the text kinds' bodies are read, and of those only
    the ones no longer than `read_up_to` bytes (the others come without their text)."""
    base = fh.tell()
    if fh.read(len(SIGNATURE)) != SIGNATURE:
        return
    pos = base + len(SIGNATURE)
    while len(head := fh.read(8)) == 8 and head[4:8] != b"IEND":
        kind, length = head[4:8], int.from_bytes(head[:4], "big")
        text = None
        if kind in _TEXT_KINDS and (read_up_to is None or length <= read_up_to):
            text = _parse(kind, fh.read(length))
            fh.seek(4, 1)  # the CRC
        else:
            fh.seek(length + 4, 1)
        yield _Chunk(kind, pos - base, pos - base + 12 + length, text)
        pos += 12 + length


def _parse(kind: bytes, body: bytes) -> _Text | None:
    key, found, rest = body.partition(b"\0")
    if not found or not rest:
        return None
    if kind == b"zTXt":  # keyword \0 method text
        return _Text(key.decode("latin-1"), (), rest[1:], True)
    # iTXt: keyword \0 flag method language \0 translated keyword \0 text
    fields = rest[2:].split(b"\0", 2)
    if len(rest) < 2 or len(fields) < 3:
        return None
    return _Text(key.decode("latin-1"), (fields[0], fields[1]), fields[2], rest[0] == 1)


def _inflated(payload: bytes) -> tuple[bytes, bool]:
    """The text up to the limit, and whether there is more; a damaged stream is neither
    large nor read (Pillow's own handling applies to it)."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(payload, PngImagePlugin.MAX_TEXT_CHUNK)
    except zlib.error:
        return b"", False
    return text, bool(inflater.unconsumed_tail)


def _utf8(text: _Text) -> bool:
    payload = text.payload
    if text.compressed:
        payload, over = _inflated(payload)
        if over:
            return True  # dropped as too large, with its own note: no second one here
    try:
        for part in (*text.labels, payload):
            part.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
