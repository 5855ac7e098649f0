"""Tag vocabulary from ``data/vocabulary.toml``: synonyms and object categories."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import msgspec

from describe.knowledge.language import singular


class _Vocabulary(msgspec.Struct, forbid_unknown_fields=True):
    synonyms: dict[str, list[str]] = {}
    object_categories: dict[str, list[str]] = {}


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    data = resources.files("describe").joinpath("data/vocabulary.toml").read_bytes()
    vocab = msgspec.toml.decode(data, type=_Vocabulary)
    canonical = {alias.lower(): tag for tag, aliases in vocab.synonyms.items() for alias in aliases}
    categories = {label: cat for cat, labels in vocab.object_categories.items() for label in labels}
    return canonical, categories


def normalise_tag(raw: str) -> str:
    """'Dining Tables' → 'table': lowercase, single spaces, synonyms merged, singular.
    A tag of only spaces and underscores normalises to "", which callers drop."""
    tag = " ".join(raw.lower().replace("_", " ").split())
    if not tag:
        return ""
    canonical, _ = _tables()
    if tag in canonical:
        return canonical[tag]
    tag = singular(tag)
    return canonical.get(tag, tag)


def object_category(label: str) -> str | None:
    """The coarse category of a COCO detector label ('cat' → 'animal')."""
    return _tables()[1].get(label)


class _Settings(msgspec.Struct, forbid_unknown_fields=True):
    settings: dict[str, list[str]] = {}


@lru_cache(maxsize=1)
def _settings() -> dict[str, tuple[str, ...]]:
    data = resources.files("describe").joinpath("data/settings.toml").read_bytes()
    return {k: tuple(v) for k, v in msgspec.toml.decode(data, type=_Settings).settings.items()}


def setting_words(label: str) -> tuple[str, ...]:
    """What a scene-like label says about the setting ('lakeside' → lake, water, shore)."""
    return _settings().get(label, ())
