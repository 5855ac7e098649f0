"""What the classic caption and the paragraph say, as structure: which fact leads the
caption, and which other candidates the paragraph may still hedge about. How sure each
label is comes from describe/render/candidates.py; the words are in templates
(data/caption.toml, data/profiles.toml).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import msgspec

from describe.facts import ColourFacts, CompositionFacts, LabelFacts, ObjectFacts, TextFacts
from describe.knowledge.language import count_phrase, join_and
from describe.knowledge.taxonomy import is_place, is_printed
from describe.knowledge.vocabulary import normalise_tag
from describe.render.candidates import (
    POSSIBLE,
    Guess,
    Kind,
    best_label,
    by_score,
    guess,
    kind_of,
    likely_kind,
    named_objects,
)
from describe.render.scene import ObjectEntry, SceneCues, cues, object_entries
from describe.render.templates import compile_template

LEADS = ("objects", "label", "sign", "category", "scene")
# A sign's headline is its first lines up to at least this many words: a first line of
# one word ("WE'RE", "WINTER·CLEARANCE") is seldom the whole heading. Line geometry was
# tried instead (the lines in the largest type) and misread charts, whose rotated axis
# title has the tallest box.
HEADLINE_WORDS = 2


class CaptionParts(msgspec.Struct, frozen=True):
    """Everything the caption template needs; `lead` is the fact the sentence is about."""

    lead: str  # one of LEADS
    objects: tuple[ObjectEntry, ...] = ()
    refinement: str = ""  # a confident label added to the objects
    refined: str = ""  # … the object it names more precisely (a tabby for the cat), or ""
    refinement_kind: str = ""  # what the refinement is a kind of (a gorilla → ape), or ""
    guess: Guess | None = None
    kind: Kind | None = None
    text: str = ""  # visible text on one line
    text_lines: tuple[str, ...] = ()
    headline: str = ""  # the first lines, joined until they say something (headline())
    cues: SceneCues = SceneCues()
    composition: CompositionFacts | None = None

    def nouns(self) -> tuple[str, ...]:
        """The subject nouns the caption names, hedged ones included, for the tags."""
        if self.lead == "objects":
            names = [e.label for e in self.objects] + ([self.refinement] if self.refinement else [])
        elif self.lead == "category" and self.kind:
            names = [self.kind.name, self.kind.example]
        elif self.lead in ("label", "scene") and self.guess:
            names = list(self.guess.names)
        elif self.lead == "sign":
            names = ["sign"]  # the template may call a wide one a banner; both search as "sign"
        else:
            names = []
        return tuple(dict.fromkeys(names))

    def context(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__}


def subject(objects: ObjectFacts | None) -> str:
    """'two people, a dog and a bench' — the detected objects, most prominent first."""
    return join_and(count_phrase(c.label, c.count) for c in named_objects(objects))


MAX_ALTERNATIVES = 2


def alternatives(labels: LabelFacts | None, parts: CaptionParts, skip: list[str | None]) -> list[str]:
    """Other candidates worth a hedge (score ≥ POSSIBLE), best first: not named by the
    caption, not the setting, and no further places beside detected objects."""
    kinds_said = (parts.refinement_kind, parts.guess.kind if parts.guess and parts.lead == "label" else "")
    said = [n for n in (*parts.nouns(), *(e.label for e in parts.objects), *kinds_said, *skip) if n]
    named = {normalise_tag(n) for n in said}
    heads = {n.rpartition(" ")[2].lower() for n in said}
    ranked = by_score(labels)
    # what the named labels are a kind of: a tiger shark adds little to a great white shark
    kinds = {lb.hypernyms[0] for lb in ranked if lb.hypernyms and normalise_tag(lb.name) in named}
    out: list[str] = []
    for label in ranked:
        if label.score < POSSIBLE or len(out) >= MAX_ALTERNATIVES:
            break
        tag = normalise_tag(label.name)
        head = label.name.rpartition(" ")[2].lower()
        if tag in named or head in heads or (label.hypernyms and label.hypernyms[0] in kinds):
            continue
        if parts.lead == "objects" and is_place(label):
            continue
        named.add(tag)
        heads.add(head)
        out.append(label.name)
    return out


def headline(text: TextFacts | None) -> str:
    """What a sign is headed: its first lines, joined until they say something
    ("WE'RE" alone does not; "WE'RE HIRING" does)."""
    words: list[str] = []
    for line in text.lines if text else ():
        words += line.text.split()
        if len(words) >= HEADLINE_WORDS:
            break
    return " ".join(words)


def caption_parts(
    objects: ObjectFacts | None,
    labels: LabelFacts | None,
    text: TextFacts | None,
    min_label_score: float,
    colours: ColourFacts | None = None,
    composition: CompositionFacts | None = None,
) -> CaptionParts:
    """Decide what the caption is about. In order: detected objects; a confident label;
    the text of a sign or banner; a kind weak labels agree on; a possible label; any
    text; and last what colour, texture and light say, with the weakest guesses."""
    entries = tuple(object_entries(objects, colours))
    found = best_label(objects, labels, min_label_score)
    best = guess(labels, min_label_score)
    kind = likely_kind(labels, min_label_score)
    flat = " ".join(text.text.split()) if text else ""
    lines = tuple(line.text for line in text.lines) if text else ()
    has_text = bool(flat) or bool(text and text.coverage)
    texty = bool(composition and composition.text_heavy)
    # a "web site" or "book jacket" on a mostly-text image is the classifier naming the graphic
    printed = bool(best and best.names and is_printed(best.names[0]))
    if entries:
        lead = "objects"
    elif best and best.level == "assert" and not (has_text and texty and printed):
        lead = "label"
    elif has_text and texty:
        lead = "sign"
    elif kind:
        lead = "category"
    elif best and best.level == "possible":
        lead = "label"
    elif has_text:
        lead = "sign"
    else:
        lead = "scene"
    refinement, refined = (found[0], found[1] or "") if found and entries else (None, "")
    return CaptionParts(
        lead=lead,
        objects=entries,
        refinement=refinement.name if refinement else "",
        refined=refined,
        # "a dog, most likely a German shepherd, a kind of sheepdog"; never "… a kind of dog"
        refinement_kind=kind_of(refinement, *(e.label for e in entries)) if refinement else "",
        guess=best,
        kind=kind,
        text=flat,
        text_lines=lines,
        headline=headline(text),
        cues=cues(colours, composition),
        composition=composition,
    )


class _CaptionFile(msgspec.Struct, forbid_unknown_fields=True):
    template: str


@cache
def caption_template() -> str:
    data = resources.files("describe").joinpath("data/caption.toml").read_bytes()
    return msgspec.toml.decode(data, type=_CaptionFile).template


def render_caption(parts: CaptionParts, template: str | None = None) -> str:
    words = compile_template(template or caption_template()).render(parts.context())
    return " ".join(words.split())


def classic_caption(
    objects: ObjectFacts | None, labels: LabelFacts | None, has_text: bool, min_label_score: float
) -> str:
    """One sentence from detector and classifier facts alone, e.g.
    'An image of a cat, most likely a tabby.' (the fallback for an empty VLM answer)."""
    text = TextFacts(coverage=1.0) if has_text else None  # text seen, words unknown
    return render_caption(caption_parts(objects, labels, text, min_label_score))
