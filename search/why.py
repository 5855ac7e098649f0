"""Why a hit matched: the views that found it with their share of its fused score, the
query words found in its description, text or tags, its tags that match the query, and
the sentence of its description that holds the most query words.

All of it from what the search already has (the views' scores, the hit's payload): no
model is asked again. The words are matched as the lexical view matches them
(search/words.py), so a hit found only by meaning (the dense views) may match no word;
its `views` still say which views found it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from typing import Annotated

import msgspec

from catalog.store.base import StoredImage
from describe.knowledge.vocabulary import normalise_tag
from search.words import WordFinder, fold, tag_keys, words

# a sentence: up to a full stop, question or exclamation mark followed by a space (so
# "3.5" or "v1.2" does not end one), or to the end
_SENTENCE = re.compile(r"\S.*?(?:[.!?](?=\s|$)|$)", re.DOTALL)


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
        self._named_tags = frozenset(t for t in map(normalise_tag, named) if t)

    def explain(self, image: StoredImage, score: float, contributions: Mapping[str, float]) -> Why:
        """`contributions`: weight × score of each view that found the hit (search/fusion.py)."""
        found: set[str] = set()
        sentence, marks = self._best_sentence(image.description, found)
        found.update(k for _, _, k in self._finder.find(image.text))
        tags = []
        for tag in image.tags:
            shared = tag_keys(tag) & self._finder.keys
            if shared or tag in self._named_tags:
                tags.append(tag)
                found |= shared
        return Why(
            views=_shares(score, contributions),
            words=[typed for folded, typed in self.typed.items() if folded in found],
            tags=tags,
            sentence=sentence,
            marks=marks,
        )

    def _best_sentence(self, description: str, found: set[str]) -> tuple[str, list[tuple[int, int]]]:
        spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(description)]
        if not spans:
            return "", []
        starts = [start for start, _ in spans]
        keys: list[set[str]] = [set() for _ in spans]
        marks: list[list[tuple[int, int]]] = [[] for _ in spans]
        for start, end, folded in self._finder.find(description):
            i = bisect_right(starts, start) - 1
            keys[i].add(folded)
            marks[i].append((start - starts[i], end - starts[i]))
            found.add(folded)
        best = max(range(len(spans)), key=lambda i: (len(keys[i]), -i))
        start, end = spans[best]
        return description[start:end], marks[best]


def _shares(score: float, contributions: Mapping[str, float]) -> list[ViewShare]:
    if score <= 0:
        return []
    ranked = sorted(((v, c) for v, c in contributions.items() if c > 0), key=lambda vc: (-vc[1], vc[0]))
    return [ViewShare(view, round(min(c / score, 1.0), 3)) for view, c in ranked]
