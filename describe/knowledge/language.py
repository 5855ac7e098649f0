"""Small English helpers for rendering: articles, plurals, counts and lists.

inflect does the linguistics (a/an, irregular plurals, number words); this
module only fixes the house style (no Oxford comma, numbers up to ten in words).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import inflect

_IMPORT_LOCK = threading.Lock()


def _unchecked(target: Any = None, **_: Any) -> Any:
    """typeguard's `@typechecked` as it is under `python -O`: the function unchanged."""
    return _unchecked if target is None else target


@lru_cache(maxsize=1)
def _engine() -> inflect.engine:
    # Imported on first use, so commands that never render a sentence skip it. inflect
    # wraps its methods in typeguard's @typechecked, which re-parses and recompiles
    # inflect's 4,000-line module once per method at import: 2.7 s on a quiet core,
    # 5 s under load, most of the server's start-up. The decorator is swapped for what
    # typeguard itself does under `python -O` (nothing) while inflect is imported:
    # 0.2 s. Only the run-time argument checks go; callers here pass plain strings and
    # guard the empty word themselves.
    with _IMPORT_LOCK:
        import typeguard

        checked = typeguard.typechecked
        typeguard.typechecked = _unchecked
        try:
            import inflect
        finally:
            typeguard.typechecked = checked
    return inflect.engine()


# Mass nouns among the classifier's labels and the words around them: "some hay", never
# "a hay". Only nouns that read wrong with an article are listed.
MASS_NOUNS = frozenset(
    {"hay", "dough", "wool", "sand", "grass", "food", "water", "snow", "ice", "mud", "foliage",
     "furniture", "clothing", "jewelry", "guacamole", "mashed potato", "consomme", "broccoli",
     "cauliflower", "meat loaf", "carbonara", "hotpot", "chocolate sauce", "ice cream"}
)  # fmt: skip


def with_article(noun: str) -> str:
    """'umbrella' → 'an umbrella'; a mass noun stays bare ('hay')."""
    if not noun or noun.lower() in MASS_NOUNS:
        return noun
    return str(_engine().a(noun))


def plural(noun: str, count: int = 2) -> str:
    return noun if count == 1 else str(_engine().plural(noun))


# inflect strips any final "s"; these endings are singular already ("bus", "grass", "cactus").
_SINGULAR_ENDINGS = ("ss", "us", "sis", "ics", "ous")
# Plural-only nouns that must stay as they are.
_INVARIANT = frozenset(
    {"jeans", "pants", "shorts", "scissors", "trousers", "sunglasses", "glasses", "news", "tennis"}
)


def singular(noun: str) -> str:
    """'dining tables' → 'dining table'; unchanged when already singular. Only the last word changes."""
    head, _, last = noun.rpartition(" ")
    if not last:  # inflect raises on an empty word
        return noun
    if last in _INVARIANT or last.endswith(_SINGULAR_ENDINGS):
        return noun
    single = _engine().singular_noun(last)
    word = single if isinstance(single, str) and single else last
    return f"{head} {word}" if head else word


# Things named in the plural that are one object: counted in pairs.
_PAIRS = frozenset({"scissors", "jeans", "pants", "trousers", "shorts", "sunglasses", "pliers", "tongs"})


def plural_only(noun: str) -> bool:
    """'scissors', 'red jeans': one thing that takes a plural verb ('the scissors are')."""
    return noun.rpartition(" ")[2] in _PAIRS


def _number(count: int) -> str:
    return str(_engine().number_to_words(str(count))) if count <= 10 else str(count)


def count_phrase(noun: str, count: int) -> str:
    """(person, 2) → 'two people'; (cup, 1) → 'a cup'; (car, 14) → '14 cars';
    (scissors, 1) → 'a pair of scissors'."""
    if plural_only(noun):
        return f"a pair of {noun}" if count == 1 else f"{_number(count)} pairs of {noun}"
    if count == 1:
        return with_article(noun)
    return f"{_number(count)} {plural(noun, count)}"


def join_and(items: Iterable[str], conj: str = "and") -> str:
    """['a cup', 'a bowl', 'a table'] → 'a cup, a bowl and a table'."""
    words = [w for w in items if w]
    if not words:
        return ""
    return str(_engine().join(words, final_sep="", conj=conj))


def sentence(text: str) -> str:
    """Capitalise the first letter and end with one full stop."""
    text = " ".join(text.split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."
