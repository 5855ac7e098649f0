from __future__ import annotations

from pathlib import Path

import pytest

from describe.errors import ProfileError, UnknownNameError
from describe.facts import Caption, Facts
from describe.profiles import ProfileSet
from describe.render import render


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return path


def test_builtin_profiles() -> None:
    profiles = ProfileSet.load()
    assert {"default", "detailed", "alt", "tags"} <= set(profiles.names())
    assert profiles.get("detailed").facts == profiles.get("default").facts  # via extends


def test_user_file_adds_and_overrides_profiles(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[profiles.seo]
extends = "alt"
template = "Product photo: {{ caption | lower }}"

[profiles.default]
template = "Seen: {{ subject or 'nothing' }}."
""",
    )
    profiles = ProfileSet.load(path)
    facts = Facts(width=1, height=1, caption=Caption("A Cat.", "classic"))
    assert render(facts, profiles.get("seo"), []) == "Product photo: a cat."
    assert profiles.get("seo").max_length == 125  # inherited from alt
    assert render(facts, profiles.get("default"), []) == "Seen: nothing."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[profiles.x]\ntemplate = "hi"\ncolour = 1\n', r"profile 'x'.*unknown field `colour`"),
        (
            '[profiles.x]\ntemplate = "{{ captoin }}"\n',
            r"profile 'x': template error: 'captoin' is undefined",
        ),
        ('[profiles.x]\ntemplate = "{% if %}"\n', r"profile 'x': template error: line 1"),
        ('[profiles.x]\ntemplate = "hi"\nfacts = ["smell"]\n', r"unknown fact 'smell'"),
        ('[profiles.x]\nextends = "nope"\ntemplate = "hi"\n', r"extends unknown profile 'nope'"),
        ("[profiles.x]\nfacts = []\n", r"profile 'x'.*missing required field `template`"),
        ("[profiles.x\n", r"profiles\.toml"),
    ],
)
def test_bad_profiles_fail_at_load_naming_the_profile(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        ProfileSet.load(write(tmp_path, body))


def test_unknown_profile_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="valid: alt, default, detailed, tags"):
        ProfileSet.load().get("fancy")


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read profile file"):
        ProfileSet.load(tmp_path / "nope.toml")
