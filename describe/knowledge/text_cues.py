"""Tags from what the visible text says: "sale" for "WINTER CLEARANCE · 60% OFF",
"price" for a price tag, "price list" for a menu board. The cues are data
(describe/data/text_cues.toml); this matches them line by line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import msgspec

from describe.errors import ConfigError


class _Cue(msgspec.Struct, forbid_unknown_fields=True):
    patterns: list[str]
    min_lines: int = 1
    max_lines: int = 0  # 0: no limit
    unless: list[str] = []  # cues that, when found, take this one's place

    def counts(self, lines: int) -> bool:
        return lines >= max(1, self.min_lines) and (not self.max_lines or lines <= self.max_lines)


class _Cues(msgspec.Struct, forbid_unknown_fields=True):
    cues: dict[str, _Cue] = {}


Compiled = tuple[tuple[str, tuple[re.Pattern[str], ...], _Cue], ...]


@lru_cache(maxsize=1)
def _compiled() -> Compiled:
    return compile_cues(resources.files("describe").joinpath("data/text_cues.toml").read_bytes())


def compile_cues(data: bytes) -> Compiled:
    """The cues of a text_cues.toml, their patterns compiled; a bad pattern is a ConfigError."""
    out = []
    for tag, cue in msgspec.toml.decode(data, type=_Cues).cues.items():
        try:
            patterns = tuple(re.compile(p, re.IGNORECASE) for p in cue.patterns)
        except re.error as exc:
            raise ConfigError(f"text_cues.toml: cue {tag!r} has a bad pattern: {exc}") from exc
        out.append((tag, patterns, cue))
    return tuple(out)


def text_cues(lines: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """(tag, score) for each cue the (line, confidence) pairs give; the score is the
    confidence of the best line that matched."""
    found: dict[str, tuple[float, _Cue]] = {}
    for tag, patterns, cue in _compiled():
        matching = [score for line, score in lines if any(p.search(line) for p in patterns)]
        if cue.counts(len(matching)):
            found[tag] = (max(matching), cue)
    return [(tag, score) for tag, (score, cue) in found.items() if not any(u in found for u in cue.unless)]
