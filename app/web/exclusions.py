"""What the search page leaves out, as chips: one per `not_tag` and one per `-word` or
`-"phrase"` of the query, each a link to the same search without it; and, next to each
tag chip not in use, a link that leaves that tag out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.web.views import search_url
from search.query import format_query, parse_query


@dataclass(frozen=True)
class ExclusionChip:
    label: str  # as shown: the tag, or the word or phrase with its minus
    kind: str  # "tag" (not_tag=) or "word" (in the query)
    href: str  # the search without this exclusion


def exclusion_chips(query: str, tags: Sequence[str], not_tags: Sequence[str]) -> list[ExclusionChip]:
    parsed = parse_query(query)
    out = [
        ExclusionChip(tag, "tag", search_url(query, tags, [t for t in not_tags if t != tag]))
        for tag in not_tags
    ]
    for phrase in parsed.excluded:
        rest = format_query(parsed.text, [p for p in parsed.excluded if p != phrase])
        label = f'-"{phrase}"' if " " in phrase else f"-{phrase}"
        out.append(ExclusionChip(label, "word", search_url(rest, tags, not_tags)))
    return out


def exclude_links(
    query: str, tags: Sequence[str], not_tags: Sequence[str], offered: Iterable[str]
) -> dict[str, str]:
    """For each offered tag that is not a filter yet: the search that leaves it out."""
    taken = {*tags, *not_tags}
    return {tag: search_url(query, tags, [*not_tags, tag]) for tag in offered if tag not in taken}
