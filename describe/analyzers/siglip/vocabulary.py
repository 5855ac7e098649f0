"""The zero-shot tag vocabulary: tags with a category, synonyms and a prompt each, the
threshold and top-k that cut the model's scores, and the pure scoring rule.

Built-in tags ship in ``describe/data/tag_vocabulary.toml``; a user file with the same
shape is merged over them (see that file's header). Files are validated strictly:
unknown keys and bad types are errors naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import msgspec

from describe.errors import ConfigError
from describe.facts import ZeroShotTag


class VocabularyTag(msgspec.Struct, frozen=True):
    name: str
    category: str
    synonyms: tuple[str, ...] = ()
    prompt: str = "a photo of {}."
    threshold: float = 0.05

    @property
    def prompts(self) -> tuple[str, ...]:
        """The name and each synonym in the prompt: their text embeddings are averaged."""
        return tuple(self.prompt.format(text) for text in (self.name, *self.synonyms))


class _Category(msgspec.Struct, forbid_unknown_fields=True):
    prompt: str | None = None
    threshold: float | None = None
    tags: dict[str, list[str]] = {}


class _File(msgspec.Struct, forbid_unknown_fields=True):
    prompt: str | None = None
    threshold: float | None = None
    top_k: int | None = None
    drop: list[str] = []
    categories: dict[str, _Category] = {}


class Vocabulary(msgspec.Struct, frozen=True):
    tags: tuple[VocabularyTag, ...]
    top_k: int = 12

    @property
    def prompts(self) -> list[str]:
        return [p for tag in self.tags for p in tag.prompts]

    def select(self, scores: Sequence[float]) -> tuple[ZeroShotTag, ...]:
        """Tags whose score (one per tag, aligned with `tags`) reaches the tag's threshold,
        best first, at most top_k."""
        if len(scores) != len(self.tags):
            raise ValueError(f"{len(scores)} scores for {len(self.tags)} tags")
        kept = [
            ZeroShotTag(tag.name, round(float(score), 4), tag.category)
            for tag, score in zip(self.tags, scores, strict=True)
            if score >= tag.threshold
        ]
        kept.sort(key=lambda t: (-t.score, t.name))
        return tuple(kept[: self.top_k])


def _tag_name(key: str) -> str:
    # TOML keys are bare words: flat_lay → "flat lay"
    return " ".join(key.replace("_", " ").split()).lower()


def _decode(data: bytes, origin: str) -> _File:
    try:
        return msgspec.toml.decode(data, type=_File)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def _merge(base: Vocabulary | None, raw: _File, origin: str) -> Vocabulary:
    """`raw` over `base`: its top-level numbers and prompt win, its tags replace base tags of
    the same name, `drop` removes base tags."""
    prompt = raw.prompt or "a photo of {}."
    threshold = raw.threshold if raw.threshold is not None else 0.05
    tags: dict[str, VocabularyTag] = {}
    if base is not None:
        dropped = {_tag_name(name) for name in raw.drop}
        unknown = dropped - {t.name for t in base.tags}
        if unknown:
            raise ConfigError(f"{origin}: drop names tags that are not in the vocabulary: {sorted(unknown)}")
        for tag in base.tags:
            if tag.name in dropped:
                continue
            updates = {}
            if raw.threshold is not None:
                updates["threshold"] = raw.threshold
            tags[tag.name] = msgspec.structs.replace(tag, **updates) if updates else tag
    for category, spec in raw.categories.items():
        for key, synonyms in spec.tags.items():
            name = _tag_name(key)
            if not name:
                raise ConfigError(f"{origin}: an empty tag name in category {category!r}")
            template = spec.prompt or prompt
            if template.count("{}") != 1:
                raise ConfigError(
                    f"{origin}: category {category!r}: the prompt needs one '{{}}': {template!r}"
                )
            cut = spec.threshold if spec.threshold is not None else threshold
            if not 0.0 <= cut <= 1.0:
                raise ConfigError(f"{origin}: category {category!r}: threshold {cut} is not in 0..1")
            tags[name] = VocabularyTag(name, category, tuple(synonyms), template, cut)
    top_k = raw.top_k if raw.top_k is not None else (base.top_k if base else 12)
    if top_k < 1:
        raise ConfigError(f"{origin}: top_k must be at least 1, not {top_k}")
    if not tags:
        raise ConfigError(f"{origin}: the tag vocabulary is empty")
    return Vocabulary(tuple(tags.values()), top_k)


def load_vocabulary(user_file: str | Path | None = None) -> Vocabulary:
    """The built-in vocabulary, with the user's file merged over it when given."""
    builtin = resources.files("describe").joinpath("data/tag_vocabulary.toml").read_bytes()
    vocabulary = _merge(None, _decode(builtin, "built-in tag vocabulary"), "built-in tag vocabulary")
    if user_file is None:
        return vocabulary
    path = Path(user_file).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read tag vocabulary file {path}: {exc.strerror}") from None
    return _merge(vocabulary, _decode(data, str(path)), str(path))


def calibrate_threshold(scored: Sequence[tuple[float, bool]], precision: float = 0.8) -> float | None:
    """The lowest threshold at which the tags kept (score ≥ threshold) are right at least
    `precision` of the time, from labelled (score, right) pairs of one model and
    vocabulary; None when no threshold reaches it. Kept tags are the top of the ranking,
    so the candidates are the scores themselves."""
    ranked = sorted(scored, key=lambda pair: -pair[0])
    best: float | None = None
    right = 0
    for kept, (score, correct) in enumerate(ranked, start=1):
        right += correct
        # a threshold cannot split tied scores: judge a score once its last tie is in
        last_of_tie = kept == len(ranked) or ranked[kept][0] < score
        if last_of_tie and right / kept >= precision:
            best = score
    return best
