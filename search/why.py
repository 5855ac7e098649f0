"""Why a hit matched: the views that found it with their share of its fused score, the
query words found in its description, text or tags, its tags that match the query, and
the sentence of its description that holds the most query words.

All of it from what the search already has (the views' scores, the hit's payload): no
model is asked again. The words are matched as the lexical view matches them
(search/words.py), so a hit found only by meaning (the dense views) may match no word;
its `views` still say which views found it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated

import msgspec

from catalog.store.base import StoredImage
from describe.knowledge.vocabulary import normalise_tag
from search.words import WordFinder, fold, tag_keys, words

# A sentence ends at a full stop, question or exclamation mark followed by white space
# (so "3.5" or "v1.2" ends none). Those are replaced one for one by ". ", which str.find
# finds fast (str.replace: 0.3 µs a description; str.translate: 5-11 µs).
_AS_FULL_STOP = (("!", "."), ("?", "."), ("\n", " "), ("\t", " "), ("\r", " "))


# the describer's tag for a word ("people" → "person"): inflect's singular takes ~0.1 ms a
# word, and a live search asks for the same words keystroke after keystroke
_tag_name = lru_cache(maxsize=4096)(normalise_tag)


class ViewShare(msgspec.Struct):
    """One view that found the hit."""

    view: Annotated[
        str,
        msgspec.Meta(
            description="dense (the description), focus (the confident facts), labels (the label "
            "distribution), sparse (exact words, BM25) or image (the picture, SigLIP 2)"
        ),
    ]
    share: Annotated[
        float,
        msgspec.Meta(
            ge=0,
            le=1,
            description="This view's weighted score as a share of the hit's fused score. The shares "
            "of the views that found a hit add up to less than 1 when a view cut its list before "
            "reaching it: fusion credits the hit that view's lowest score.",
        ),
    ]


class Why(msgspec.Struct):
    """Why a hit matched the query (absent when browsing without query text)."""

    views: Annotated[
        list[ViewShare], msgspec.Meta(description="The views that found the hit, largest share first")
    ]
    words: Annotated[
        list[str],
        msgspec.Meta(
            description="Query words found in the description, the visible text or the tags "
            "(whole words, any case, plurals folded; stop words left out), in query order"
        ),
    ]
    tags: Annotated[
        list[str],
        msgspec.Meta(
            description="The hit's tags that share a word with the query, or that name a query word"
        ),
    ]
    sentence: Annotated[
        str,
        msgspec.Meta(
            description="The sentence of the description holding the most query words (the first "
            "sentence when none holds one)"
        ),
    ]
    marks: Annotated[
        list[tuple[int, int]],
        msgspec.Meta(description="[start, end) character offsets of the matched words in `sentence`"),
    ]


class Explainer:
    """The query's words, compiled once per search; `explain` then costs microseconds a hit."""

    def __init__(self, query: str) -> None:
        self.typed: dict[str, str] = {}  # fold → the query word as typed (lower case)
        for word in words(query):
            folded = fold(word)
            if folded and folded not in self.typed:
                self.typed[folded] = word
        self._finder = WordFinder(self.typed)
        # tags that are a query word (or the whole query) under the describer's tag names
        named = [*self.typed.values(), query] if len(self.typed) > 1 else list(self.typed.values())
        self._named_tags = frozenset(t for t in map(_tag_name, named) if t)

    def explain(self, image: StoredImage, score: float, contributions: Mapping[str, float]) -> Why:
        """`contributions`: weight × score of each view that found the hit (search/fusion.py)."""
        in_description = self._finder.find(image.description)
        found = {k for _, _, k in in_description}
        if image.text:
            found.update(k for _, _, k in self._finder.find(image.text))
        keys, named = self._finder.keys, self._named_tags
        tags = []
        for tag in image.tags:
            shared = tag_keys(tag) & keys
            if shared or tag in named:
                tags.append(tag)
                found |= shared
        sentence, marks = _best_sentence(image.description, in_description)
        return Why(
            views=_shares(score, contributions),
            words=[typed for folded, typed in self.typed.items() if folded in found],
            tags=tags,
            sentence=sentence,
            marks=marks,
        )


def _best_sentence(text: str, matches: list[tuple[int, int, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The sentence of `text` holding the most distinct matched words (the first of equals;
    the first sentence when none holds one), and the matches' spans within it. Only the
    sentences around matches are looked for (str.rfind back from each match)."""
    flat = text
    for mark, full_stop in _AS_FULL_STOP:
        if mark in flat:
            flat = flat.replace(mark, full_stop)
    start = 0
    if matches:
        # each match under the start of its sentence (just after the ". " before it)
        by_sentence: dict[int, set[str]] = {}
        for at, _, folded in matches:
            by_sentence.setdefault(flat.rfind(". ", 0, at) + 1, set()).add(folded)
        start = min(by_sentence, key=lambda s: (-len(by_sentence[s]), s))
    end = flat.find(". ", start)
    end = len(text) if end < 0 else end + 1
    while start < end and text[start].isspace():
        start += 1
    marks = [(a - start, b - start) for a, b, _ in matches if start <= a < end]
    return text[start:end].rstrip(), marks


def _shares(score: float, contributions: Mapping[str, float]) -> list[ViewShare]:
    if score <= 0:
        return []
    shares = [ViewShare(view, round(min(c / score, 1.0), 3)) for view, c in contributions.items() if c > 0]
    shares.sort(key=_by_share)
    return shares


def _by_share(share: ViewShare) -> tuple[float, str]:
    return -share.share, share.view
