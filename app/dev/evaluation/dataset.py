"""The reference format: what a person expects of each image, and which images a query
should find. TOML, decoded strictly (unknown keys are errors), checked against the folder.

    [images."coffee.jpg"]
    tags = [["cup", "mug"], ["coffee", "espresso"]]   # each inner list: words that mean the same
    acceptable = ["tableware"]                         # right, but not needed for recall
    colours = ["brown", ["red", "orange"]]             # colour families; a list = any one of them

    [[queries]]
    text = "a cat"
    relevant = ["chelsea.jpg"]

Image names are paths relative to the evaluated folder, with forward slashes.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from describe.errors import ConfigError

# The basic colour families the colours analyzer names (describe/analyzers/colours.py).
COLOUR_FAMILIES = frozenset(
    {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray", "beige"}
)


class EvalError(ConfigError):
    """A reference or query file that is wrong, or does not fit the folder."""


class ImageRef(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tags: list[list[str]] = []
    acceptable: list[str] = []
    colours: list[str | list[str]] = []
    note: str = ""

    @property
    def colour_groups(self) -> list[list[str]]:
        return [[c] if isinstance(c, str) else c for c in self.colours]


class Query(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: str
    relevant: list[str]
    note: str = ""


class References(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    images: dict[str, ImageRef] = {}
    queries: list[Query] = []


def load(path: Path) -> References:
    """Decode one reference or query file; errors name the file and the bad key."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvalError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        refs = msgspec.toml.decode(raw, type=References)
    except msgspec.ValidationError as exc:
        raise EvalError(f"{path}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise EvalError(f"{path}: not valid TOML ({exc})") from None
    _check_shape(path, refs)
    return refs


def _check_shape(path: Path, refs: References) -> None:
    for name, ref in refs.images.items():
        where = f'{path}: images."{name}"'
        for i, group in enumerate(ref.tags):
            if not [w for w in group if w.strip()]:
                raise EvalError(f"{where}: tags[{i}] is empty; give at least one word")
        for group in ref.colour_groups:
            unknown = [c for c in group if c not in COLOUR_FAMILIES]
            if unknown or not group:
                raise EvalError(
                    f"{where}: unknown colour {', '.join(unknown) or '(empty)'}; "
                    f"use the families {', '.join(sorted(COLOUR_FAMILIES))}"
                )
    for i, query in enumerate(refs.queries):
        if not query.text.strip():
            raise EvalError(f"{path}: queries[{i}] has empty text")
        if not query.relevant:
            raise EvalError(f"{path}: query {query.text!r} lists no relevant images")


def merge(*parts: References) -> References:
    """Image references from all parts (a later part wins per image), queries concatenated."""
    images: dict[str, ImageRef] = {}
    queries: list[Query] = []
    for part in parts:
        images.update(part.images)
        queries += part.queries
    return References(images=images, queries=queries)


def check_against(refs: References, names: set[str], source: str) -> None:
    """Every image a reference or query names must be in the folder: a typo would
    otherwise silently score as a miss."""
    missing = sorted(n for n in refs.images if n not in names)
    missing += sorted({n for q in refs.queries for n in q.relevant if n not in names} - set(missing))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise EvalError(f"{source} names images that are not in the folder: {shown}")
