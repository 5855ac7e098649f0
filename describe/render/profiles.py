"""Output profiles: the description format as data.

Built-in profiles ship in ``describe/data/profiles.toml``; a user file with the
same shape adds profiles or overrides them. Profiles are validated strictly
when loaded — unknown keys, bad types and templates that do not render are
errors that name the file, the profile and the problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from describe.errors import ProfileError, UnknownNameError
from describe.facts import FACT_FIELDS
from describe.render.template_context import check_template

TAG_SOURCES = (
    "objects",
    "labels",
    "hypernyms",
    "category",
    "scene",
    "colours",
    "composition",
    "text",
    "caption",
    "zero_shot",
    "provenance",
)


class TagRules(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    sources: tuple[str, ...] = TAG_SOURCES
    min_score: float = 0.3  # labels and objects below this are not tagged
    max_tags: int = 25


class Profile(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str
    template: str
    facts: tuple[str, ...] = FACT_FIELDS
    description: str = ""
    prompt: str = "Describe this image in one paragraph."
    tags: TagRules = TagRules()
    max_colours: int = 3
    min_label_score: float = 0.3  # labels mentioned in the paragraph
    max_length: int | None = None  # characters; longer paragraphs are cut at a sentence end
    macros: str = ""  # Jinja macros the template calls; inherited by profiles that extend this one
    extends: str | None = None


class _ProfileFile(msgspec.Struct, forbid_unknown_fields=True):
    profiles: dict[str, dict[str, Any]] = {}


def _read(data: bytes, origin: str) -> dict[str, dict[str, Any]]:
    try:
        return msgspec.toml.decode(data, type=_ProfileFile).profiles
    except msgspec.DecodeError as exc:
        raise ProfileError(f"{origin}: {exc}") from None


def _build(raw: dict[str, dict[str, Any]], base: dict[str, Profile], origin: str) -> dict[str, Profile]:
    built = dict(base)
    pending = dict(raw)
    while pending:
        progressed = False
        for name, fields in list(pending.items()):
            parent = fields.get("extends")
            if parent and parent in pending and parent != name:
                continue  # build the parent first
            merged: dict[str, Any] = {}
            if parent:
                if parent not in built:
                    raise ProfileError(f"{origin}: profile {name!r} extends unknown profile {parent!r}")
                merged = msgspec.to_builtins(built[parent])
            merged.update(fields)
            merged["name"] = name
            try:
                profile = msgspec.convert(merged, Profile)
            except msgspec.ValidationError as exc:
                raise ProfileError(f"{origin}: profile {name!r}: {exc}") from None
            _check(profile, origin)
            built[name] = profile
            del pending[name]
            progressed = True
        if not progressed:
            raise ProfileError(f"{origin}: profiles extend each other in a cycle: {sorted(pending)}")
    return built


def _check(profile: Profile, origin: str) -> None:
    where = f"{origin}: profile {profile.name!r}"
    for fact in profile.facts:
        if fact not in FACT_FIELDS:
            raise ProfileError(f"{where}: unknown fact {fact!r}; valid: {', '.join(FACT_FIELDS)}")
    for source in profile.tags.sources:
        if source not in TAG_SOURCES:
            raise ProfileError(f"{where}: unknown tag source {source!r}; valid: {', '.join(TAG_SOURCES)}")
    problem = check_template(profile.macros + profile.template, profile.max_colours, profile.min_label_score)
    if problem:
        raise ProfileError(f"{where}: template error: {problem}")


class ProfileSet:
    """All profiles known to one process: built-ins plus an optional user file."""

    def __init__(self, profiles: dict[str, Profile]) -> None:
        self._profiles = profiles

    @classmethod
    def load(cls, user_file: str | Path | None = None) -> ProfileSet:
        builtin = resources.files("describe").joinpath("data/profiles.toml").read_bytes()
        profiles = _build(_read(builtin, "built-in profiles"), {}, "built-in profiles")
        if user_file is not None:
            path = Path(user_file)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ProfileError(f"cannot read profile file {path}: {exc.strerror}") from None
            profiles = _build(_read(data, str(path)), profiles, str(path))
        return cls(profiles)

    def get(self, name: str) -> Profile:
        try:
            return self._profiles[name]
        except KeyError:
            raise UnknownNameError("profile", name, self.names()) from None

    def names(self) -> list[str]:
        return sorted(self._profiles)

    def __iter__(self) -> Iterator[Profile]:
        return iter(self._profiles.values())
