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
    single = singular(tag)
    if single != tag and single.rpartition(" ")[2] not in _known_nouns():
        # a word the describer never names: "Paris", "Christmas", "Adidas" are not plurals of
        # "pari", "christma", "adida"; a person's or a file's own tag is kept as written
        return tag
    return canonical.get(single, single)


# What the describer's words come from: the singular of a word is trusted when it is one of
# these (a label, an ancestor, a synonym, a zero-shot tag, a setting word, a prompt word).
_WORD_FILES = (
    "vocabulary.toml",
    "imagenet_hypernyms.toml",
    "imagenet_categories.toml",
    "tag_vocabulary.toml",
    "settings.toml",
    "prompt_words.toml",
)


@lru_cache(maxsize=1)
def _known_nouns() -> frozenset[str]:
    data = resources.files("describe").joinpath("data")
    words: set[str] = set(data.joinpath("coco_labels.txt").read_text().lower().split())

    def walk(value: object) -> None:
        if isinstance(value, str):
            words.update(value.lower().replace("_", " ").split())
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for name in _WORD_FILES:
        walk(msgspec.toml.decode(data.joinpath(name).read_bytes()))
    return frozenset(words)


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
