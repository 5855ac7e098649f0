from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from describe.errors import ProfileError, UnknownNameError
from describe.facts import Caption, Facts, Label
from describe.render.paragraph import render
from describe.render.profiles import ProfileSet


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


def test_a_user_profile_rewords_the_detail_without_code(tmp_path: Path) -> None:
    from describe.facts import DetectedObject, ObjectCount, ObjectFacts

    path = write(
        tmp_path,
        """
[profiles.terse]
extends = "default"
template = "{{ caption }} {{ objects_sentence() }}"

[profiles.german]
extends = "default"
macros = '''
{% set where = {"left": "links", "right": "rechts"} %}
{% macro placed(p) %}
{%- for o in p.objects %}{{ o.label }}: {{ where.get(p.position, p.position) }}{% endfor -%}
{% endmacro %}
{% macro objects_sentence() %}{% for p in placements %}{{ placed(p) }}. {% endfor %}{% endmacro %}
'''
template = "Bild. {{ objects_sentence() }}{% for o in objects %}{{ o.label }} {{ o.count }}{% endfor %}"
""",
    )
    profiles = ProfileSet.load(path)
    box = (0.0, 0.3, 0.2, 0.6)
    objects = ObjectFacts(objects=(DetectedObject("dog", 0.9, box),), counts=(ObjectCount("dog", 1, 0.9),))
    facts = Facts(width=1, height=1, objects=objects, caption=Caption("A dog.", "classic"))
    # the inherited macros still work in a profile that only changes the template …
    assert render(facts, profiles.get("terse"), []) == "A dog. The dog is on the left."
    # … and redefining them changes the wording
    assert render(facts, profiles.get("german"), []) == "Bild. dog: links. dog 1"


def test_a_bad_macro_fails_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.x]\nextends = "default"\nmacros = "{% macro placed(p) %}{{ p.nope }"\n')
    with pytest.raises(ProfileError, match=r"profile 'x': template error"):
        ProfileSet.load(path)


def test_the_classic_caption_wording_is_data() -> None:
    from describe.analyzers.caption import ClassicCaptioner
    from describe.errors import ConfigError
    from describe.facts import LabelFacts
    from describe.intake import PreparedImage

    mine = ClassicCaptioner(
        template="{% if lead == 'label' %}Probably {{ guess.names | join(' or ') }}.{% endif %}"
    )
    weak = LabelFacts(labels=(Label("valley", 0.2, "landscape"),))
    image = cast(PreparedImage, None)  # the classic captioner reads only the other facts
    assert mine.analyze(image, Facts(width=1, height=1, labels=weak)).text == "Probably valley."
    with pytest.raises(ConfigError, match="classic captioner template: 'lead2' is undefined"):
        ClassicCaptioner(template="{{ lead2 }}")
