"""Facts + profile → paragraph. Templates are Jinja with StrictUndefined, so a
typo in a profile is an error at load time rather than silently empty text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2

from describe import phrases
from describe.facts import (
    Caption,
    Colour,
    ColourFacts,
    CompositionFacts,
    Facts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    Tag,
    TextFacts,
)
from describe.language import join_and, plural, sentence, with_article
from describe.profiles import Profile

_LIGHTING = {"dark": "dark", "dim": "dimly lit", "balanced": "evenly lit", "bright": "brightly lit"}
_MAX_QUOTED = 200  # characters of OCR text quoted in a paragraph


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _MAX_QUOTED:
        flat = flat[: _MAX_QUOTED - 1].rsplit(" ", 1)[0] + "…"
    return f"“{flat}”"


def _position(where: str) -> str:
    """'top' → 'at the top'; 'left third' → 'in the left third'."""
    return f"at the {where}" if where in ("top", "bottom") else f"in the {where}"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
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
        join_and=join_and,
        sentence=sentence,
        quote=_quote,
        lighting=lambda v: _LIGHTING.get(v, v),
        position=_position,
        sentence_start=lambda v: v[:1].upper() + v[1:],
    )
    return env


@lru_cache(maxsize=64)
def _compile(template: str) -> jinja2.Template:
    return _environment().from_string(template)


def context(facts: Facts, profile: Profile, tags: list[Tag]) -> dict[str, Any]:
    palette = list(facts.colours.palette[: profile.max_colours]) if facts.colours else []
    text = facts.text.text if facts.text else ""
    if not text and facts.caption:
        text = facts.caption.ocr  # what a vision-language captioner read, when OCR found nothing
    caption = facts.caption.text if facts.caption else ""
    setting = phrases.setting(facts.labels, profile.min_label_score)
    if setting and (setting.lower() in caption.lower() or (facts.caption and facts.caption.vlm)):
        setting = None  # the caption already says it (a VLM's paragraph describes the scene)
    return {
        "caption": caption,
        "subject": phrases.subject(facts.objects),
        "setting": setting,
        "labels": [
            lb.name for lb in phrases.extra_labels(facts.objects, facts.labels, profile.min_label_score)
        ],
        "objects": phrases.named_objects(facts.objects),
        "colours": palette,
        # one name per colour, no repeats ("dark brown, dark brown" reads badly)
        "colour_names": list(dict.fromkeys(c.name for c in palette)),
        "grayscale": bool(facts.colours and facts.colours.grayscale),
        "text": " ".join(text.split()),
        "text_lines": [line.text for line in facts.text.lines] if facts.text else [],
        "composition": facts.composition,
        "tags": [t.name for t in tags],
        "width": facts.width,
        "height": facts.height,
    }


def render(facts: Facts, profile: Profile, tags: list[Tag]) -> str:
    raw = _compile(profile.template).render(context(facts, profile, tags))
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


def _sample_facts() -> list[Facts]:
    """An empty and a full set of facts: a template must render with both."""
    full = Facts(
        width=800,
        height=600,
        objects=ObjectFacts(counts=(ObjectCount("cup", 2, 0.9),)),
        labels=LabelFacts(labels=(Label("espresso", 0.8, "drink"), Label("seashore", 0.7, "landscape"))),
        text=TextFacts(text="SALE 50%", coverage=0.1),
        colours=ColourFacts(palette=(Colour("dark brown", "brown", "#402010", 0.5),)),
        composition=CompositionFacts(
            orientation="landscape",
            aspect_ratio=1.33,
            brightness=0.5,
            contrast=0.4,
            saturation=0.3,
            sharpness=300.0,
            blurry=False,
            lighting="balanced",
            subject_position="centre",
            shot="close-up",
            plain_background=True,
            text_heavy=True,
        ),
        caption=Caption("An image of two cups.", "classic"),
    )
    return [Facts(width=10, height=10), full]


def check_template(profile: Profile) -> str | None:
    """None when the profile's template compiles and renders; else the problem, for people."""
    try:
        for facts in _sample_facts():
            render(facts, profile, [Tag("cup", "objects")])
    except jinja2.TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    except jinja2.UndefinedError as exc:
        return str(exc.message)
    except Exception as exc:  # filters raise plain errors on bad input types
        return f"{type(exc).__name__}: {exc}"
    return None
