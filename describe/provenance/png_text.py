"""PNG text chunks Pillow cannot keep. Compressed ones that would inflate past Pillow's
limit are left out before the image is opened again, and iTXt chunks that are not UTF-8
(which Pillow drops silently) get a note. Pillow refuses the whole image when one zTXt or iTXt chunk
decompresses past `PngImagePlugin.MAX_TEXT_CHUNK` (a zip bomb in a comment); the
picture is still worth describing, so intake retries without those chunks and keeps a
note for each (describe/intake.py). Each chunk is inflated at most to the limit: the
check costs no more memory than Pillow's own would."""

from __future__ import annotations

import zlib
from typing import BinaryIO

from PIL import PngImagePlugin

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def drop_oversized_text(data: bytes) -> tuple[bytes, list[str]]:
    """`data` without the compressed text chunks that inflate past the limit, and a note
    for each; anything that is not a well-formed PNG comes back as it was."""
    if not data.startswith(SIGNATURE):
        return data, []
    limit = PngImagePlugin.MAX_TEXT_CHUNK
    kept, notes, pos = [SIGNATURE], [], len(SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        end = pos + 12 + length
        if kind in (b"zTXt", b"iTXt") and _inflates_past(kind, body, limit):
            key = body.split(b"\0", 1)[0].decode("latin-1")
            notes.append(f"the {kind.decode()} chunk {key!r} inflates past {limit // 2**20} MiB: skipped")
        else:
            kept.append(data[pos:end])
        pos = end
    kept.append(data[pos:])  # whatever trails the last whole chunk, as Pillow would see it
    return b"".join(kept), notes


def _inflates_past(kind: bytes, body: bytes, limit: int) -> bool:
    key_end = body.find(b"\0")
    if key_end < 0:
        return False
    if kind == b"zTXt":  # keyword \0 method text
        compressed = body[key_end + 2 :]
    else:  # iTXt: keyword \0 flag method language \0 translated keyword \0 text
        if body[key_end + 1 : key_end + 2] != b"\x01":
            return False  # stored uncompressed: Pillow reads it without inflating
        rest = body[key_end + 3 :]
        parts = rest.split(b"\0", 2)
        if len(parts) < 3:
            return False
        compressed = parts[2]
    inflater = zlib.decompressobj()
    try:
        inflater.decompress(compressed, limit)
    except zlib.error:
        return False  # damaged, not large: Pillow's own handling applies
    return bool(inflater.unconsumed_tail)


def undecodable_text(fh: BinaryIO) -> list[str]:
    """A note for each iTXt chunk whose text is not UTF-8: Pillow drops those without a
    word. Walks the chunk headers (seeking past every other chunk's data), reads only iTXt
    bodies up to the text limit, and leaves `fh` where it was."""
    start = fh.tell()
    notes: list[str] = []
    try:
        if fh.read(len(SIGNATURE)) != SIGNATURE:
            return notes
        while len(head := fh.read(8)) == 8 and head[4:8] != b"IEND":
            length = int.from_bytes(head[:4], "big")
            if head[4:8] == b"iTXt" and length <= PngImagePlugin.MAX_TEXT_CHUNK:
                problem = _not_utf8(fh.read(length))
                fh.seek(4, 1)  # the CRC
                if problem:
                    notes.append(problem)
            else:
                fh.seek(length + 4, 1)
    except OSError:
        pass  # a damaged file: decoding reports it
    finally:
        fh.seek(start)
    return notes


def _not_utf8(body: bytes) -> str | None:
    key, _, rest = body.partition(b"\0")
    if len(rest) < 2:
        return None
    compressed, fields = rest[0] == 1, rest[2:].split(b"\0", 2)
    if len(fields) < 3:
        return None
    lang, translated, text = fields
    if compressed:
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, PngImagePlugin.MAX_TEXT_CHUNK)
        except zlib.error:
            return None
    try:
        for part in (lang, translated, text):
            part.decode("utf-8")
    except UnicodeDecodeError:
        return f"the iTXt chunk {key.decode('latin-1')!r} is not valid UTF-8: ignored"
    return None
