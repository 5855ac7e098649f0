"""Facts + profile → paragraph. Templates are Jinja with StrictUndefined, so a
typo in a profile is an error at load time (profiles.py checks each template
with describe/render/template_context.py) rather than silently empty text."""

from __future__ import annotations

import re
from typing import Any

from describe.facts import Facts, Tag
from describe.render.profiles import Profile
from describe.render.template_context import variables
from describe.render.templates import compile_template


def context(facts: Facts, profile: Profile, tags: list[Tag]) -> dict[str, Any]:
    return variables(facts, tags, profile.max_colours, profile.min_label_score)


def render(facts: Facts, profile: Profile, tags: list[Tag]) -> str:
    raw = compile_template(profile.macros + profile.template).render(context(facts, profile, tags))
    text = re.sub(r"\s+", " ", raw).strip()
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    if profile.max_length and len(text) > profile.max_length:
        text = _shorten(text, profile.max_length)
    return text


def _shorten(text: str, limit: int) -> str:
    """Cut at the last sentence end within the limit, else at a word, with an ellipsis."""
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if end > 0:
        return cut[: end + 1]
    return cut[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
