"""The query as a person types it: the words to search for, and `-word` / `-"two words"`
to leave out. Pure: text in, text out; the service applies what it finds.

The reading is lenient, never an error: the search box searches as it is typed (htmx,
300 ms), so half-typed syntax arrives all the time, and a search engine that answers
"syntax error" to `cat -` is worse than one that reads it as `cat`.

- `-` at the start of a word, followed by a letter or digit, leaves that word out:
  `-cat`, `-ai-generated`. Punctuation around it goes (`-cat,` is `-cat`).
- `-"…"` (straight or curly quotes) leaves a phrase out. Without a closing quote it runs
  to the end of the query: what a person still typing it means.
- A lone `-` (or a run of them) is dropped. `--x`, `-!` and a quote without the minus are
  plain text: the search reads meaning, and quotes or dashes there change nothing.
- Case and spacing of an exclusion do not matter; repeats count once; at most
  MAX_EXCLUSIONS (a query is at most search.service.MAX_QUERY characters anyway).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.store.base import StoredImage
from describe.knowledge.vocabulary import normalise_tag
from search.words import WORD, PhraseFinder

MAX_EXCLUSIONS = 20
_OPEN_QUOTES = '"“”„'
_CLOSE_QUOTES = '"“”'
_PUNCTUATION = string.punctuation + "“”„‘’«»"


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what is searched: the query without its exclusions, spacing collapsed
    excluded: tuple[str, ...] = ()  # words and phrases left out: lower-case, in order


def parse_query(raw: str) -> ParsedQuery:
    text: list[str] = []
    excluded: list[str] = []

    def exclude(content: str) -> None:
        phrase = " ".join(content.lower().split()).strip(_PUNCTUATION + " ")
        if WORD.search(phrase) and phrase not in excluded and len(excluded) < MAX_EXCLUSIONS:
            excluded.append(phrase)

    i, n = 0, len(raw)
    while i < n:
        if raw[i].isspace():
            i += 1
        elif raw[i] == "-" and i + 1 < n and raw[i + 1] in _OPEN_QUOTES:
            closing = [j for j in (raw.find(q, i + 2) for q in _CLOSE_QUOTES) if j >= 0]
            end = min(closing, default=n)
            exclude(raw[i + 2 : end])
            i = end + 1
        else:
            j = i
            while j < n and not raw[j].isspace():
                j += 1
            token, i = raw[i:j], j
            if token[0] == "-" and len(token) > 1 and token[1].isalnum():
                exclude(token[1:])
            elif token.strip("-"):  # dashes alone say nothing
                text.append(token)
    return ParsedQuery(" ".join(text), tuple(excluded))


def format_query(text: str, excluded: Sequence[str]) -> str:
    """The query that parses back to `text` and `excluded` (a chip that removes one
    exclusion links to the query without it)."""
    parts = [text] if text else []
    for phrase in excluded:
        # a word read from `-word` starts with a letter or digit and holds no space
        bare = phrase[:1].isalnum() and not any(c.isspace() for c in phrase)
        parts.append(f"-{phrase}" if bare else f'-"{phrase}"')
    return " ".join(parts)


class Exclusions:
    """The excluded words and phrases as a test on a stored image: one is left out when
    its description, its text or one of its tags holds an excluded word or phrase (whole
    words, any case, plurals folded: `-cat` leaves out "two cats" but not "category"),
    or when a tag is the excluded word under the describer's tag normalisation
    (`-people` leaves out the tag "person": the describer tags people so)."""

    def __init__(self, phrases: Sequence[str] = ()) -> None:
        self.phrases = tuple(phrases)
        # the store leaves these out before ranking (Store.nearest's not_tags), so the
        # candidates are not spent on images the tag check would drop anyway
        self.tags = tuple(dict.fromkeys(t for t in map(normalise_tag, self.phrases) if t))
        self._tag_set = frozenset(self.tags)
        self._finders = [f for f in map(PhraseFinder, self.phrases) if f]

    def __bool__(self) -> bool:
        return bool(self.phrases)

    def excludes(self, image: StoredImage) -> bool:
        if self._tag_set.intersection(image.tags):
            return True
        fields = (image.description, image.text, *image.tags)
        return any(finder.found_in_any(fields) for finder in self._finders)
