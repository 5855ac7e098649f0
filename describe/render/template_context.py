"""The variables a description template renders with, and the check that a template
renders with them. Both render (which renders profiles) and profiles (which check
their templates when loaded) use this module; it knows nothing of either."""

from __future__ import annotations

from typing import Any

import jinja2

from describe.facts import (
    CANT_TELL,
    NOT_SEEN,
    SEEN,
    Caption,
    Colour,
    ColourFacts,
    CompositionFacts,
    CreativeFacts,
    CreativePart,
    DetectedObject,
    Evidence,
    Facts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    PromptCheck,
    PromptItem,
    Tag,
    TextFacts,
)
from describe.knowledge.vocabulary import normalise_tag
from describe.render import candidates, creative, look, phrases, scene
from describe.render.templates import compile_template, quote


def variables(facts: Facts, tags: list[Tag], max_colours: int, min_label_score: float) -> dict[str, Any]:
    """What a description template sees: the facts in words a template can use."""
    palette = list(facts.colours.palette[:max_colours]) if facts.colours else []
    text = facts.text.text if facts.text else ""
    if not text and facts.caption:
        text = facts.caption.ocr  # what a vision-language captioner read, when OCR found nothing
    caption = facts.caption.text if facts.caption else ""
    vlm = bool(facts.caption and facts.caption.vlm)
    # what the classic caption led with; a VLM's paragraph leads with the whole scene
    parts = phrases.caption_parts(
        facts.objects, facts.labels, facts.text, min_label_score, facts.colours, facts.composition
    )
    said = caption.lower()
    setting = candidates.setting(facts.labels, min_label_score)
    if setting and (setting.lower() in said or vlm):
        setting = None  # the caption already says it (a VLM's paragraph describes the scene)
    maybe_setting = None if vlm else candidates.possible_setting(facts.labels, min_label_score)
    if maybe_setting and maybe_setting.lower() in said:
        maybe_setting = None
    entries = scene.object_entries(facts.objects, facts.colours)
    flat = " ".join(text.split())
    return {
        "caption": caption,
        "subject": phrases.subject(facts.objects),
        "setting": setting,
        "possible_setting": maybe_setting,
        "labels": [lb.name for lb in candidates.extra_labels(facts.objects, facts.labels, min_label_score)],
        "objects": entries,
        "placements": scene.placements(entries),
        "relations": scene.relations(entries),
        "alternatives": [] if vlm else phrases.alternatives(facts.labels, parts, [setting, maybe_setting]),
        "lead": "" if vlm else parts.lead,
        "guess": parts.guess,
        "cues": parts.cues,
        "framing": look.framing(facts.composition, facts.colours, entries),
        "layout": look.layout(facts.colours, facts.composition),
        "tone": look.tone(facts.colours, facts.composition),
        "colours": palette,
        # one name per colour, no repeats ("dark brown, dark brown" reads badly)
        "colour_names": list(dict.fromkeys(c.name for c in palette)),
        "grayscale": bool(facts.colours and facts.colours.grayscale),
        "text": flat,
        "text_in_caption": bool(flat) and quote(flat) in caption,
        "text_lines": [line.text for line in facts.text.lines] if facts.text else [],
        "composition": facts.composition,
        "tags": [t.name for t in tags],
        "width": facts.width,
        "height": facts.height,
        "prompt_check": prompt_view(facts.prompt_check, facts),
        "creative": creative_view(facts, caption),
    }


def creative_view(facts: Facts, caption: str) -> dict[str, Any] | None:
    """A marketing image in words, or none: kind, format, format_name, layout, subject,
    lead (its sentence; "" when the caption already is it), detail (its parts as sentences),
    and each part's texts (headline, prices, discounts, coupons, ctas, events, brand)."""
    c = facts.creative
    if c is None or not c.kind:
        return None
    sentence = creative.lead(c, facts.colours)
    return {
        "kind": c.kind,
        "format": c.format,
        "format_name": c.format_name,
        "layout": c.layout,
        "subject": c.subject,
        "lead": "" if caption.startswith(sentence) else sentence,
        "detail": creative.detail(c),
        "headline": next(iter(c.texts("headline")), ""),
        "prices": c.texts("price"),
        "discounts": c.texts("discount"),
        "coupons": c.texts("coupon"),
        "ctas": c.texts("cta"),
        "events": c.texts("event"),
        "brand": next(iter(c.texts("brand")), ""),
        "languages": list(c.languages),
        "drawn": list(c.drawn),
    }


def prompt_view(check: PromptCheck | None, facts: Facts) -> dict[str, object] | None:
    """The check in words a profile template can use: `seen` ("the red sofa"), `missing`
    ("a dog", as the prompt says it), `unclear`, and `differs` (thing, colours, asked, shown)."""
    if check is None or not check.items:
        return None
    boxes = facts.objects.objects if facts.objects else ()

    def named(item: PromptItem) -> str:
        if item.phrase.startswith("“"):  # quoted text the prompt wants written
            return f"the text {item.phrase}"
        return "the " + " ".join((*item.attributes, item.thing))

    differs = [
        {
            "thing": item.thing,
            "colours": [c for c in item.differs if c != "count"],
            "asked": item.count if "count" in item.differs else 0,
            "shown": sum(normalise_tag(b.label) == item.thing for b in boxes),
        }
        for item in check.items
        if item.differs
    ]
    return {
        "seen": [named(i) for i in check.items if i.status == SEEN],
        "missing": [
            named(i) if i.phrase.startswith("“") else i.phrase for i in check.items if i.status == NOT_SEEN
        ],
        "unclear": [i.phrase for i in check.items if i.status == CANT_TELL],
        "differs": differs,
        "source": check.source,
    }


def sample_facts() -> list[Facts]:
    """An empty and a full set of facts: a template must render with both."""
    full = Facts(
        width=800,
        height=600,
        objects=ObjectFacts(
            objects=(
                DetectedObject("cup", 0.9, (0.1, 0.5, 0.3, 0.7)),
                DetectedObject("cup", 0.8, (0.7, 0.5, 0.9, 0.7)),
                DetectedObject("dining table", 0.7, (0.0, 0.4, 1.0, 1.0)),
            ),
            counts=(ObjectCount("cup", 2, 0.9), ObjectCount("dining table", 1, 0.7)),
        ),
        labels=LabelFacts(labels=(Label("espresso", 0.8, "drink"), Label("seashore", 0.7, "landscape"))),
        text=TextFacts(text="SALE 50%", coverage=0.1),
        colours=ColourFacts(
            palette=(Colour("dark brown", "brown", "#402010", 0.5),),
            object_colours=("white", "white", "brown"),
            bands=("blue", "", "brown"),
        ),
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
        prompt_check=PromptCheck(
            prompt='three red cups, a dog, a sign saying "SALE 50%", a loft',
            source="caller",
            items=(
                PromptItem(
                    "three red cups",
                    "cup",
                    "seen",
                    (Evidence("object", "cup", 0.9),),
                    3,
                    ("red",),
                    ("red", "count"),
                ),
                PromptItem("a dog", "dog", "not_seen"),
                PromptItem("“SALE 50%”", "sale 50%", "seen", (Evidence("text", "SALE 50%"),)),
                PromptItem("a loft", "loft", "cant_tell"),
            ),
            score=0.667,
            mismatch=True,
        ),
    )
    # nothing detected: a hedged guess, scene cues and a sign lead the paragraph instead
    weak = Facts(
        width=10,
        height=10,
        labels=LabelFacts(
            labels=(Label("lakeside", 0.08, "landscape"), Label("seashore", 0.06, "landscape"))
        ),
        colours=ColourFacts(bands=("blue", "", "green"), bright_points=True),
    )
    sign = Facts(width=20, height=10, text=TextFacts(text="OPEN", coverage=0.3))
    ad = Facts(
        width=10,
        height=10,
        text=TextFacts(text="NEW\n$5\nShop now", coverage=0.3),
        creative=CreativeFacts(
            kind="ad",
            format="square",
            format_name="square",
            layout="text top",
            parts=(
                CreativePart("headline", "NEW"),
                CreativePart("price", "$5"),
                CreativePart("cta", "Shop now"),
            ),
            subject="sneakers",
            products=("shoe",),
        ),
    )
    return [Facts(width=10, height=10), full, weak, sign, ad]


def check_template(source: str, max_colours: int, min_label_score: float) -> str | None:
    """None when the template compiles and renders with every sample; else the problem, for people."""
    try:
        for facts in sample_facts():
            compile_template(source).render(
                variables(facts, [Tag("cup", "objects")], max_colours, min_label_score)
            )
    except jinja2.TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    except jinja2.UndefinedError as exc:
        return str(exc.message)
    except Exception as exc:  # filters raise plain errors on bad input types
        return f"{type(exc).__name__}: {exc}"
    return None
