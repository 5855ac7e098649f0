"""The Jinja environment every description template renders in: profiles' paragraphs
and the classic caption. Undefined variables are errors (StrictUndefined), so a typo in
a template fails when it is loaded, not as silently empty text."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import jinja2

from describe.knowledge.language import count_phrase, join_and, plural, sentence, with_article

_LIGHTING = {"dark": "dark", "dim": "dimly lit", "balanced": "evenly lit", "bright": "brightly lit"}
MAX_QUOTED = 200  # characters of OCR text quoted in a paragraph


def quote(text: str, limit: int = MAX_QUOTED) -> str:
    """Curly-quoted, on one line, cut at a word with an ellipsis past ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rsplit(" ", 1)[0] + "…"
    return f"“{flat}”"


def fit(sentences: Iterable[tuple[int, str]], max_words: int) -> str:
    """Join (rank, sentence) pairs, given in reading order, within ``max_words``: the
    sentences with the highest rank (least important) go first, later ones first among
    equals. What is still too long (one long caption) is cut at its last sentence end
    within the limit, else at a word with an ellipsis."""
    kept = [(rank, " ".join(str(text).split())) for rank, text in sentences]
    kept = [(rank, text) for rank, text in kept if text]
    while len(kept) > 1 and sum(len(text.split()) for _, text in kept) > max_words:
        worst = max(range(len(kept)), key=lambda i: (kept[i][0], i))
        del kept[worst]
    words = " ".join(text for _, text in kept).split()
    if len(words) <= max_words:
        return " ".join(words)
    cut = " ".join(words[:max_words])
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > 0 else cut.rstrip(",;:.") + "…"


def _position(where: str) -> str:
    """'top' → 'at the top'; 'left third' → 'in the left third'."""
    return f"at the {where}" if where in ("top", "bottom") else f"in the {where}"


def _count(noun: str, count: int) -> str:
    return count_phrase(noun, int(count))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text; the web pages escape on their side
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        a=with_article,
        plural=plural,
        count=_count,
        join_and=join_and,
        sentence=sentence,
        quote=quote,
        lighting=lambda v: _LIGHTING.get(v, v),
        position=_position,
        sentence_start=lambda v: v[:1].upper() + v[1:],
        fit=fit,
    )
    return env


@lru_cache(maxsize=64)
def compile_template(source: str) -> jinja2.Template:
    return environment().from_string(source)
