"""Words as the lexical view compares them, for matching a query against a hit's text
without a model: the exclusions of a query (search/query.py) and why a hit matched
(search/why.py).

catalog/embed.py's tokens() decides what a word folds to ('Cats' → 'cat') and which
words are stop words, so both agree with what the sparse view matched. Its word rule is
ASCII (the descriptions are English); here a word is any run of letters and digits, so
a non-ASCII word (a sign read by OCR, a person's tag) matches as it is written.

Matching looks only at the words that start like a wanted one (found by str.find) and
folds those, never every word of every description: explaining a page of 60 hits stays
within its 2 ms (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import lru_cache

from catalog.embed import tokens

# a word: letters and digits, with inner apostrophes ("cat's", "don't")
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_WORD_TAIL = r"[^\W_]*(?:['’][^\W_]+)*"
_NOT_AFTER_WORD = r"(?<![^\W_])"
_BETWEEN_WORDS = r"[\W_]+"


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """A lower-case word as it is compared: plural folded, possessive dropped; "" for a
    stop word or a single character. Cached: descriptions share a small vocabulary."""
    word = word.removesuffix("'s").removesuffix("’s")
    if not word.isascii():
        return word
    found = tokens(word)
    return found[0] if len(found) == 1 else ""


def key(word: str) -> str:
    """What a word of a phrase must equal: its fold, or itself for a stop word
    ("cat on sofa" does not match "cat sofa")."""
    return fold(word) or word


def words(text: str) -> list[str]:
    """The lower-case words of a text."""
    return WORD.findall(text.lower())


@lru_cache(maxsize=1 << 14)
def tag_keys(tag: str) -> frozenset[str]:
    """The folds of a tag's words, stop words left out."""
    return frozenset(k for k in map(fold, words(tag)) if k)


def _prefix(folded: str) -> str:
    # a fold is the start of every form it folds ('cat' → cats, 'box' → boxes), except
    # 'ies' plurals, whose fold ends in y ('puppy' ← puppies)
    return folded[:-1] if folded.endswith("y") and len(folded) > 2 else folded


class WordFinder:
    """Finds, in a text, the words that fold to one of `keys`. str.find for each key's
    start (C speed), then the word there is read and folded: a third of the time of one
    case-blind regular expression trying every position of a description."""

    def __init__(self, keys: Collection[str]) -> None:
        self.keys = frozenset(keys)
        starts = {_prefix(k) for k in self.keys if k}
        # a start that begins with another is found by that one ("cat" finds "catalog")
        self._starts = sorted(p for p in starts if not any(p != q and p.startswith(q) for q in starts))

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, key) of each matching word, in order."""
        low = text.lower()
        if len(low) != len(text):  # a letter whose lower case is longer ("İ"): offsets would slip
            return self._find_slowly(text)
        keys, found = self.keys, []
        for start in self._starts:
            at = low.find(start)
            while at >= 0:
                if at == 0 or not low[at - 1].isalnum():
                    word = WORD.match(low, at)
                    if word is not None and (folded := fold(word.group())) in keys:
                        found.append((at, word.end(), folded))
                at = low.find(start, at + 1)
        found.sort()
        return found

    def _find_slowly(self, text: str) -> list[tuple[int, int, str]]:
        if not self._starts:
            return []
        alternatives = "|".join(map(re.escape, self._starts))
        pattern = re.compile(f"{_NOT_AFTER_WORD}(?:{alternatives}){_WORD_TAIL}", re.IGNORECASE)
        return [
            (m.start(), m.end(), folded)
            for m in pattern.finditer(text)
            if (folded := fold(m.group().lower())) in self.keys
        ]


class PhraseFinder:
    """Whether a text holds a phrase: its words in order, each folded as `key` does,
    separated by anything that is not a word (spaces, hyphens, punctuation)."""

    def __init__(self, phrase: str) -> None:
        self.keys = tuple(key(w) for w in words(phrase))
        parts = [re.escape(_prefix(k)) + _WORD_TAIL for k in self.keys]
        # a lookahead, so a near miss ("bigger cat") does not hide an overlapping match
        self._pattern = (
            re.compile(f"{_NOT_AFTER_WORD}(?=({_BETWEEN_WORDS.join(parts)}))", re.IGNORECASE)
            if parts
            else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def found_in(self, text: str) -> bool:
        if self._pattern is None or not text:
            return False
        for match in self._pattern.finditer(text):
            found = words(match.group(1))
            if len(found) == len(self.keys) and all(
                key(w) == k for w, k in zip(found, self.keys, strict=True)
            ):
                return True
        return False

    def found_in_any(self, texts: Sequence[str]) -> bool:
        return any(self.found_in(text) for text in texts)
