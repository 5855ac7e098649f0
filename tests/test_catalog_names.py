"""Names the OS allows, as the catalog keeps them (catalog/names.py)."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from catalog.names import on_disk, storable

NAMES = [
    b"plain.png",
    b"bad\xff\xfe.png",  # not UTF-8
    b"caf\xc3\xa9.jpg",  # UTF-8: kept as it is
    b"new\nline.png",
    "\u202eRTL mark.png".encode(),
    b"x" * 251 + b".png",  # 255 bytes, the longest name ext4 allows
    b"half \xe2\x82.png",  # a UTF-8 sequence cut short
]


@pytest.mark.parametrize("raw", NAMES)
def test_every_name_is_storable_and_comes_back_as_the_file_systems_name(raw: bytes) -> None:
    name = os.fsdecode(raw)  # what os.listdir and watchdog hand over
    kept = storable(name)
    json.dumps(kept)  # JSON, SQLite and the pages take it
    sqlite3.connect(":memory:").execute("SELECT ?", (kept,))
    assert os.fsencode(on_disk(kept)) == raw
    assert storable(kept) == kept  # keying is stable: a stored name maps to itself


def test_valid_names_are_untouched() -> None:
    for name in ("plain.png", "café.jpg", "new\nline.png"):
        assert storable(name) == name == on_disk(name)
