"""What the page templates show, computed in Python so the templates stay simple:
search URLs and tag chips, colour swatches, object boxes, status bar, captioners.

Everything here returns plain data; the templates escape every string they print.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from describe.describer import Describer
from describe.facts import Colour, DetectedObject
from describe.knowledge.vocabulary import normalise_tag
from indexer.status import IndexStatus

MAX_CHIPS = 24
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Chip:
    tag: str
    count: int
    active: bool
    href: str  # the search with this tag toggled


def search_url(query: str, tags: Sequence[str], not_tags: Sequence[str] = ()) -> str:
    params = [("q", query)] if query else []
    params += [("tag", t) for t in tags] + [("not_tag", t) for t in not_tags]
    return "/?" + urlencode(params) if params else "/"


def clean_tags(tags: Iterable[str] | None) -> list[str]:
    """Normalised, without blanks (or tags like "_" that normalise to nothing) or
    repeats, in the order given."""
    normalised = (normalise_tag(tag) for tag in tags or ())
    return list(dict.fromkeys(t for t in normalised if t))


def chips(
    query: str,
    active: Sequence[str],
    counts: Sequence[tuple[str, int]],
    pinned: Sequence[tuple[str, int]] = (),
    not_tags: Sequence[str] = (),
) -> list[Chip]:
    """Active tags first (so they can always be removed), then the pinned filters that
    match something (prompt-mismatch, ai-generated), then the most common others.
    A tag left out (`not_tags`) is offered by none: its chip is among the exclusions."""

    def toggled(tag: str) -> list[str]:
        return [t for t in active if t != tag] if tag in active else [*active, tag]

    by_tag = dict(counts)
    out = [Chip(t, by_tag.get(t, 0), True, search_url(query, toggled(t), not_tags)) for t in active]
    shown = {*active, *not_tags}
    for tag, count in pinned:
        if count and tag not in shown:
            out.append(Chip(tag, count, False, search_url(query, toggled(tag), not_tags)))
            shown.add(tag)
    others = [(t, c) for t, c in counts if t not in shown][: max(0, MAX_CHIPS - len(out))]
    out += [Chip(t, c, False, search_url(query, toggled(t), not_tags)) for t, c in others]
    return out


def hit_tag_counts(hit_tags: Iterable[Sequence[str]]) -> list[tuple[str, int]]:
    """Tag counts among the hits of a text search: the chips then narrow what was found."""
    counts = Counter(t for tags in hit_tags for t in tags)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def swatches(colours: Iterable[Colour]) -> list[dict[str, Any]]:
    """Colours whose hex is well-formed; it goes into a style attribute, so nothing else may."""
    return [
        {"name": c.name, "family": c.family, "hex": c.hex.lower(), "percent": round(c.coverage * 100)}
        for c in colours
        if _HEX.fullmatch(c.hex)
    ]


def boxes(objects: Iterable[DetectedObject]) -> list[dict[str, Any]]:
    """Normalised boxes as CSS percentages, clamped to the image."""
    out = []
    for obj in objects:
        x0, y0, x1, y1 = (min(max(float(v), 0.0), 1.0) for v in obj.box)
        if x1 > x0 and y1 > y0:
            out.append(
                {
                    "label": obj.label,
                    "score": round(obj.score * 100),
                    "style": f"left:{x0 * 100:.2f}%;top:{y0 * 100:.2f}%;"
                    f"width:{(x1 - x0) * 100:.2f}%;height:{(y1 - y0) * 100:.2f}%",
                }
            )
    return out


def status_view(status: IndexStatus | None, state: str = "ready", error: str | None = None) -> dict[str, Any]:
    """The status bar: counts once the catalog is open, else the loading state.
    `poll` is true only while something is pending (or models are loading)."""
    if status is None:
        return {"state": state, "error": error, "indexed": 0, "pending": 0, "failed": 0,
                "watching": None, "poll": state == "loading"}  # fmt: skip
    return {
        "state": "ready",
        "error": None,
        "indexed": status.indexed,
        "pending": status.pending,
        "failed": status.failed,
        "watching": status.watching,
        "poll": status.pending > 0 or status.disk_full is not None or status.repair is not None,
        "alert": status_alert(status),
    }


def status_alert(status: IndexStatus) -> str:
    """The banner line for a catalog that is not well: a full disk, a store being rebuilt."""
    if status.disk_full is not None:
        full = status.disk_full
        return (
            f"Disk full: {full.path} has {full.free_bytes / 2**20:.1f} MB free, "
            f"{full.needed_bytes / 2**20:.0f} MB are needed. Indexing is paused and resumes by "
            "itself once space is freed; search answers from what is stored."
        )
    if status.repair is not None:
        repair = status.repair
        return (
            f"Rebuilding the store: {repair.stored} of {repair.expected} images are back. It was "
            f"damaged ({repair.reason}) and is kept at {repair.moved_to}; search answers from "
            "what is rebuilt so far."
        )
    return ""


def captioner_choices(describer: Describer) -> list[str]:
    """The active captioner first, then the others already loaded: choosing a model
    that is not resident would stall the request while it loads."""
    active = describer.captioner
    return [active, *(n for n in describer.loaded_captioners() if n != active)]


def short(text: str, limit: int = 160) -> str:
    """A snippet cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + "…"
