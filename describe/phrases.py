"""What the classic caption and the paragraph say, as structure: which fact leads the
caption, the hedged label candidates and how sure each is, the kind several weak
labels agree on. The words are in templates (data/caption.toml, data/profiles.toml).

Only what an analyzer found above its threshold is ever asserted; anything weaker is
passed on with a hedge level, and the templates say it as a guess.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import msgspec

from describe.analyzers.labels import is_place
from describe.facts import (
    ColourFacts,
    CompositionFacts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    TextFacts,
)
from describe.language import count_phrase, join_and
from describe.scene import MAX_NAMED_OBJECTS, ObjectEntry, SceneCues, cues, object_entries
from describe.templates import compile_template
from describe.vocabulary import normalise_tag, object_category

# Whole-image probability of a label: at or above the profile's min_label_score it is
# asserted; from POSSIBLE it is "what looks like"; down to WEAK_FLOOR "it may show".
# Below WEAK_FLOOR a softmax over 1000 classes is noise and nothing is said.
POSSIBLE = 0.1
WEAK_FLOOR = 0.03
CLOSE = 0.6  # a runner-up scoring this share of the best is named beside it ("X or Y")
# Coarse label categories that make a useful noun when several weak labels agree
# (palace + church + castle: a building). Their words are in the caption template.
KIND_CATEGORIES = frozenset(
    {
        "animal",
        "plant",
        "food",
        "drink",
        "vehicle",
        "building",
        "landscape",
        "clothing",
        "device",
        "furniture",
        "instrument",
        "structure",
    }
)
LEADS = ("objects", "label", "sign", "category", "scene")


class Guess(msgspec.Struct, frozen=True):
    """The classifier's best candidates for the subject, and how sure it is."""

    level: str  # assert (≥ min_label_score), possible (≥ POSSIBLE), weak (≥ WEAK_FLOOR)
    names: tuple[str, ...]  # the best, and the runner-up when close (never when asserted)
    place: bool  # the best names a setting (seashore, palace) rather than a thing
    kind: str = ""  # what the best is a kind of (its nearest WordNet ancestor), or ""


class Kind(msgspec.Struct, frozen=True):
    """What several weak labels agree on: a shared WordNet ancestor or a category."""

    name: str  # a hypernym ("flower") or a category key ("building")
    example: str  # the best label of that kind


class CaptionParts(msgspec.Struct, frozen=True):
    """Everything the caption template needs; `lead` is the fact the sentence is about."""

    lead: str  # one of LEADS
    objects: tuple[ObjectEntry, ...] = ()
    refinement: str = ""  # a confident label added to the objects
    refined: str = ""  # … the object it names more precisely (a tabby for the cat), or ""
    guess: Guess | None = None
    kind: Kind | None = None
    text: str = ""  # visible text on one line
    text_lines: tuple[str, ...] = ()
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
        else:
            names = []
        return tuple(dict.fromkeys(names))

    def context(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__}


def named_objects(objects: ObjectFacts | None) -> list[ObjectCount]:
    return list(objects.counts[:MAX_NAMED_OBJECTS]) if objects else []


def subject(objects: ObjectFacts | None) -> str:
    """'two people, a dog and a bench' — the detected objects, most prominent first."""
    return join_and(count_phrase(c.label, c.count) for c in named_objects(objects))


def _by_score(labels: LabelFacts | None) -> list[Label]:
    # the list comes sorted by Label.best, which counts crops; what may be said is the whole image
    return sorted(labels.labels, key=lambda lb: -lb.score) if labels else []


def setting(labels: LabelFacts | None, min_score: float) -> str | None:
    """The best scene-like label ('seashore', 'library'), if one is confident enough."""
    return next((lb.name for lb in _by_score(labels) if is_place(lb) and lb.score >= min_score), None)


def possible_setting(labels: LabelFacts | None, min_score: float) -> str | None:
    """The best scene-like label too weak to assert but worth a hedge ('it may be a valley')."""
    if setting(labels, min_score):
        return None
    return next((lb.name for lb in _by_score(labels) if is_place(lb) and lb.score >= POSSIBLE), None)


def extra_labels(objects: ObjectFacts | None, labels: LabelFacts | None, min_score: float) -> list[Label]:
    """Confident labels that say something the objects don't (no repeats, no scene labels)."""
    seen = {normalise_tag(c.label) for c in named_objects(objects)}
    extra = []
    for label in _by_score(labels):
        tag = normalise_tag(label.name)
        if label.score < min_score or is_place(label) or tag in seen:
            continue
        seen.add(tag)
        extra.append(label)
    return extra


def _refines(label: Label, obj: str) -> bool:
    """True when the label names the detected thing more precisely: a tabby for a cat.
    WordNet ancestors say so when the labels have them (golden retriever → dog);
    without them, a shared coarse category has to do."""
    if normalise_tag(label.name) == normalise_tag(obj):
        return True
    if label.hypernyms:
        return normalise_tag(obj) in {normalise_tag(h) for h in label.hypernyms}
    return object_category(obj) == label.category


def best_label(
    objects: ObjectFacts | None, labels: LabelFacts | None, min_score: float
) -> tuple[Label, str | None] | None:
    """The most confident label worth adding to the objects, and the detected object it
    refines (a 'tabby' for the 'cat', a 'golden retriever' for the 'dog'), or None when
    it names something else."""
    named = named_objects(objects)
    raw_names = {c.label for c in named}
    object_tags = {normalise_tag(c.label) for c in named}
    for label in _by_score(labels):
        if label.score < min_score or is_place(label) or label.name.lower() in raw_names:
            continue
        refined = next((c.label for c in named if _refines(label, c.label)), None)
        if refined:
            return label, refined
        if normalise_tag(label.name) in object_tags:
            continue  # a synonym of a detected object: says nothing new
        return label, None
    return None


def guess(labels: LabelFacts | None, min_score: float) -> Guess | None:
    """The classifier's best candidate(s) with a hedge level; None when all are noise."""
    candidates = [lb for lb in _by_score(labels) if lb.score >= WEAK_FLOOR]
    if not candidates:
        return None
    best = candidates[0]
    kind = best.hypernyms[0] if best.hypernyms else ""
    if kind and kind.lower() in best.name.lower():
        kind = ""  # "a great white shark, a kind of shark" says nothing
    if best.score >= min_score:
        return Guess("assert", (best.name,), is_place(best), kind)
    level = "possible" if best.score >= POSSIBLE else "weak"
    names = [best.name]
    if len(candidates) > 1 and candidates[1].score >= CLOSE * best.score:
        names.append(candidates[1].name)
    return Guess(level, tuple(dict.fromkeys(names)), is_place(best), kind)


MAX_ALTERNATIVES = 2


def alternatives(labels: LabelFacts | None, parts: CaptionParts, skip: list[str | None]) -> list[str]:
    """Other candidates worth a hedge (score ≥ POSSIBLE), best first: not named by the
    caption, not the setting, and no further places beside detected objects."""
    said = [n for n in (*parts.nouns(), *(e.label for e in parts.objects), *skip) if n]
    named = {normalise_tag(n) for n in said}
    heads = {n.rpartition(" ")[2].lower() for n in said}
    ranked = _by_score(labels)
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


def likely_category(labels: LabelFacts | None, min_score: float) -> tuple[str, Label] | None:
    """When no single label is confident but several agree on a kind of thing
    (palace 0.18, church 0.17, castle 0.15: a building), the category and its best label."""
    totals: dict[str, float] = {}
    best: dict[str, Label] = {}
    for label in _by_score(labels):
        if label.category in KIND_CATEGORIES:
            totals[label.category] = totals.get(label.category, 0.0) + label.score
            best.setdefault(label.category, label)
    if not totals:
        return None
    category = max(totals, key=lambda c: totals[c])
    return (category, best[category]) if totals[category] >= min_score else None


def likely_kind(labels: LabelFacts | None, min_score: float) -> Kind | None:
    """The nearest WordNet ancestor the best label shares with other candidates (daisy and
    zinnia: a flower) when together they pass min_score; else an agreeing category."""
    candidates = [lb for lb in _by_score(labels) if lb.score >= WEAK_FLOOR]
    if candidates:
        best = candidates[0]
        for ancestor in best.hypernyms:
            sharing = [lb for lb in candidates if ancestor in lb.hypernyms]
            if len(sharing) >= 2 and sum(lb.score for lb in sharing) >= min_score:
                return Kind(ancestor, best.name)
    found = likely_category(labels, min_score)
    return Kind(found[0], found[1].name) if found else None


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
    if entries:
        lead = "objects"
    elif best and best.level == "assert":
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
    return CaptionParts(
        lead=lead,
        objects=entries,
        refinement=found[0].name if found and entries else "",
        refined=(found[1] or "") if found and entries else "",
        guess=best,
        kind=kind,
        text=flat,
        text_lines=lines,
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
