"""File names as the catalog keeps them. A name that is not valid UTF-8 (Linux allows any
bytes but / and NUL) reaches Python with its stray bytes as surrogates (os.fsdecode),
which SQLite, JSON and the pages refuse. The journal and the store keep such a name with
those bytes written as `\\xff` escapes; on_disk() turns the escapes back into the name
the file system knows, to serve the original."""

from __future__ import annotations

import re

_ESCAPED = re.compile(r"\\x([89a-f][0-9a-f])")


def storable(text: str) -> str:
    """`text` as SQLite, JSON and the pages can hold it: unchanged when it is valid UTF-8,
    its stray bytes written as `\\xff` escapes when not. The journal keys such a file by
    that spelling and every lookup maps to it the same way; a real name spelled with that
    backslash escape would share the key (vanishingly rare)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate no file name produces
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def on_disk(stored: str) -> str:
    """The name the file system knows for a stored one: the escapes storable() wrote turned
    back into the bytes they stand for (as surrogates, which os functions accept)."""
    return _ESCAPED.sub(lambda m: chr(0xDC00 + int(m[1], 16)), stored)
