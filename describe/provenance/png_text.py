"""Compressed PNG text chunks that would inflate past Pillow's limit, left out before the
image is opened again. Pillow refuses the whole image when one zTXt or iTXt chunk
decompresses past `PngImagePlugin.MAX_TEXT_CHUNK` (a zip bomb in a comment); the
picture is still worth describing, so intake retries without those chunks and keeps a
note for each (describe/intake.py). Each chunk is inflated at most to the limit: the
check costs no more memory than Pillow's own would."""

from __future__ import annotations

import zlib

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
