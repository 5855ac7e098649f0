"""A generation prompt → the things it asks for: "a dog and a cat on a red sofa, 8k" →
[dog], [cat], [red sofa].

Rule-based on purpose (docs/RESEARCH.md, "Prompt vs picture"): prompts are tag lists more
than sentences ("masterpiece, 1girl, red dress, (bokeh:1.2)"), where a POS tagger trained
on news text misfires, and no maintained tagger ships its model on PyPI. What matters is
which words name a thing the models know; describe/provenance/prompt_check.py decides that with the
vocabulary. The word lists are data: describe/data/prompt_words.toml.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import msgspec

MAX_PHRASES = 40  # a prompt of 200 comma-separated tags is checked on its first 40 things
MAX_THING_WORDS = 3


class _Words(msgspec.Struct, forbid_unknown_fields=True):
    style: list[str]
    drop_after: list[str]
    separators: list[str]
    filler: list[str]
    counts: dict[str, int]


@dataclass(frozen=True)
class Phrase:
    text: str  # the words as the prompt says them, weights and style removed: "a red sofa"
    words: tuple[str, ...]  # the content words, lowercase: ("red", "sofa")
    count: int | None = None
    quoted: bool = False  # text the prompt wants written in the picture: 'a sign saying "OPEN"'


@cache
def _words() -> _Words:
    return msgspec.toml.decode(files("describe").joinpath("data/prompt_words.toml").read_bytes(), type=_Words)


def _alternation(words: list[str]) -> str:
    # longest first, so "in front of" wins over "in"
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    w = _words()
    style = re.compile(rf"\b(?:{_alternation(w.style)})\b")
    # "by greg rutkowski" is an author; "by the window" is a place
    drop = re.compile(rf"\b(?:{_alternation(w.drop_after)})\b(?!\s+(?:the|a|an)\b).*$")
    split = re.compile(rf"\b(?:{_alternation([*w.separators, 'by'])})\b")
    return style, drop, split


# A1111 / ComfyUI prompt syntax, undone in this order
_SYNTAX: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"\\[()\[\]]"), " "),  # escaped brackets are literal
    (re.compile(r"<[^<>]*>"), " "),  # <lora:name:0.8>, <hypernet:…>, <lyco:…>
    (re.compile(r"\bembedding:\S+"), " "),  # ComfyUI textual inversions
    (re.compile(r"\bBREAK\b"), ","),
    (re.compile(r"\[([^\[\]:|]*):([^\[\]:|]*):\s*[\d.]+\s*\]"), r"\2"),  # [from:to:when] → to
    (re.compile(r"\[([^\[\]:|]*):\s*[\d.]+\s*\]"), r"\1"),  # [word:when]
    (re.compile(r"[\[{]([^\[\]{}|]*)\|[^\[\]{}]*[\]}]"), r"\1"),  # [a|b], {a|b|c} → a
    (re.compile(r":\s*-?[\d.]+\s*\)"), ")"),  # (word:1.2) → (word)
    (re.compile(r"[()\[\]{}]"), " "),
    (re.compile(r"_"), " "),  # booru tags: red_dress
)
_QUOTED = re.compile(r"[\"“”]([^\"“”]{1,80})[\"“”]")
_SEGMENT = re.compile(r"[,;.!?\n|]+")
_TOKEN = re.compile(r"[a-z][a-z'-]*|\d+")


def clean(prompt: str) -> str:
    """The prompt without weights, LoRA tags, alternations and escapes."""
    text = prompt
    for pattern, repl in _SYNTAX:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


def split_prompt(prompt: str) -> list[Phrase]:
    """The things `prompt` asks for, in order, without repeats."""
    text = clean(prompt)
    found: list[Phrase] = [Phrase(text=f"“{q.strip()}”", words=(q.strip(),), quoted=True)
                           for q in _QUOTED.findall(text) if q.strip()]  # fmt: skip
    text = _QUOTED.sub(",", text)
    style, drop, split = _patterns()
    for segment in _SEGMENT.split(text.lower()):
        segment = style.sub(" ", drop.sub("", segment))
        for chunk in split.split(segment):
            phrase = _phrase(chunk)
            if phrase is not None:
                found.append(phrase)
    unique: dict[tuple[str, ...], Phrase] = {}
    for phrase in found:
        unique.setdefault(phrase.words, phrase)  # the first mention wins
    return list(unique.values())[:MAX_PHRASES]


def _phrase(chunk: str) -> Phrase | None:
    w = _words()
    filler = set(w.filler)
    tokens = _TOKEN.findall(chunk)
    count = None
    kept: list[str] = []
    for token in tokens:
        if token.isdigit() or token in w.counts:
            number = int(token) if token.isdigit() else w.counts[token]
            count = number if number < 1000 else None  # "1024", "2000s" are no counts
            continue
        if token not in filler and len(token) > 1:
            kept.append(token)
    if not kept:
        return None
    shown = " ".join(t for t in chunk.split() if t)
    return Phrase(text=shown, words=tuple(kept), count=count)


def candidates(words: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """(thing, attributes) readings of a phrase's words, longest thing first: the thing
    is at the end in English ("red leather sofa" → "leather sofa", then "sofa")."""
    out = []
    for size in range(min(MAX_THING_WORDS, len(words)), 0, -1):
        out.append((" ".join(words[-size:]), words[:-size]))
    return out
