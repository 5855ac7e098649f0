"""The languages a creative's text is written in, by py3langid (the maintained fork of
langid.py: a naive Bayes model over byte n-grams, shipped inside the wheel, numpy only;
docs/RESEARCH.md, "Language ID"). Which languages are candidates, and how much text and
how sure the model must be before one is said, is data ([languages] in
describe/data/creative.toml).

Short copy is weak evidence: "SALE" is as much Italian as English to any model, so a
language is only said for the whole text when it has enough letters, and a second one only
for a long line the model is very sure of."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from describe.knowledge.creative_text import Languages
from describe.knowledge.language_model import open_identifier

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _identifier(candidates: tuple[str, ...]) -> Any:
    """The model, restricted to the candidates, probabilities normalised over them; its
    arrays are mapped from the model cache (describe/knowledge/language_model.py)."""
    return open_identifier(list(candidates))


def load_language_model(rules: Languages) -> None:
    """Load the model now (the creative analyzer's load) instead of at the first text."""
    if rules.candidates:
        _identifier(tuple(rules.candidates))


def _as_read(line: str) -> str:
    """Display type set in capitals says nothing about case, and the model, trained on
    running text, reads "BLACK FRIDAY" as less English than "black friday"."""
    return line.lower() if line.isupper() else line


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _classify(text: str, rules: Languages) -> tuple[str, float]:
    with _lock:  # the identifier is one object; its scratch state is not shared safely
        identifier = _identifier(tuple(rules.candidates))
        code, confidence = identifier.classify(text)
    return str(code), float(confidence)


def languages(lines: Sequence[str], rules: Languages) -> tuple[str, ...]:
    """ISO 639-1 codes, the whole text's language first; () when the text is too short or
    the model unsure. Never raises on odd text."""
    read = [_as_read(line) for line in lines if line.strip()]
    whole = " ".join(read)
    if _letters(whole) < rules.min_letters or not rules.candidates:
        return ()
    found: list[str] = []
    code, confidence = _classify(whole, rules)
    if confidence >= rules.min_confidence:
        found.append(code)
    for line in read:
        if _letters(line) < rules.line_min_letters:
            continue
        code, confidence = _classify(line, rules)
        if confidence >= rules.line_min_confidence and code not in found:
            found.append(code)
    return tuple(found)


def name(code: str, rules: Languages) -> str:
    return rules.names.get(code, code)
