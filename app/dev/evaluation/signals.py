"""Label-free signals: what can be said about descriptions with no references at all.

Length and vocabulary show whether a captioner says much and whether it says the same
thing for every image; repeated phrases catch a language model looping ("a cup, a cup")
and template boilerplate; tag overlap between captioners shows where they agree; a
subjectless paragraph ("An image.", "An image with text.") names nothing a search could
find it by.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import msgspec

from catalog.embed import words  # the project's one word-splitting rule

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Words that say something is an image, or link and hedge, but name nothing in it:
# the templates' frame ("An image of what looks like …", "The main colours are …"),
# articles and prepositions, and the basic colour families with their shades (a colour
# alone is not a subject: "red, text" is the tags profile's sign with nothing read).
BOILERPLATE = frozenset({
    "a", "an", "the", "of", "with", "and", "or", "in", "on", "at", "to", "is", "are", "it", "its", "this",
    "that", "there", "some", "what", "looks", "like", "possibly", "probably", "perhaps", "maybe", "likely",
    "most", "image", "images", "photo", "photos", "photograph", "picture", "pictures", "shot", "view",
    "scene", "text", "main", "colour", "colours", "color", "colors", "tone", "tones",
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray",
    "grey", "beige", "light", "dark", "pale", "deep", "bright",
})  # fmt: skip


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def repeated_ngrams(text: str, n: int = 3) -> list[str]:
    """Word n-grams that occur more than once within one text."""
    counts = Counter(ngrams(words(text), n))
    return [" ".join(g) for g, c in counts.items() if c > 1]


def first_sentence(text: str) -> str:
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


_COLOURS = frozenset(
    {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white"}
)


def subjectless(text: str) -> bool:
    """Whether a paragraph's first sentence — where every template names the subject —
    has no word beyond boilerplate: "An image.", "An image with text.", or nothing.
    A colour word right after an article is a noun ("an image of an orange")."""
    tokens = words(first_sentence(text))
    nouns = {
        w for before, w in zip(["", *tokens], tokens, strict=False) if before in ("a", "an") and w in _COLOURS
    }
    return all(w in BOILERPLATE and w not in nouns for w in tokens)


class TextSignals(msgspec.Struct, frozen=True):
    descriptions: int
    words_mean: float | None
    words_min: int
    words_max: int
    vocabulary: int  # distinct words over all descriptions
    type_token_ratio: float | None  # distinct / total words: low means the same words everywhere
    distinct_descriptions: float | None  # share of images whose paragraph no other image has
    repeat_rate: float | None  # share of descriptions with a 3-gram said twice
    subjectless: int  # descriptions whose first sentence names nothing (see subjectless())
    common_phrases: list[tuple[str, float]]  # 4-grams and the share of descriptions using them


def text_signals(texts: Sequence[str], top: int = 5) -> TextSignals:
    tokenised = [words(t) for t in texts]
    lengths = [len(t) for t in tokenised]
    total = sum(lengths)
    vocab = {w for t in tokenised for w in t}
    # document frequency: a phrase counts once per description
    df: Counter[str] = Counter()
    for t in tokenised:
        df.update({" ".join(g) for g in ngrams(t, 4)})
    ranked = sorted(df.items(), key=lambda pc: (-pc[1], pc[0]))[:top]  # ties by name: stable output
    common = [(p, round(c / len(texts), 3)) for p, c in ranked if c > 1]
    seen = Counter(texts)
    n = len(texts)
    return TextSignals(
        descriptions=n,
        words_mean=total / n if n else None,
        words_min=min(lengths, default=0),
        words_max=max(lengths, default=0),
        vocabulary=len(vocab),
        type_token_ratio=len(vocab) / total if total else None,
        distinct_descriptions=sum(1 for t in texts if seen[t] == 1) / n if n else None,
        repeat_rate=sum(1 for t in texts if repeated_ngrams(t)) / n if n else None,
        subjectless=sum(1 for t in texts if subjectless(t)),
        common_phrases=common,
    )
