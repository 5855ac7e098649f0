"""What the classifier's labels support, ranked by the whole-image score: the hedged
candidates for the subject and how sure each is, the kind several weak labels agree on,
the setting, and the confident labels that add to the detected objects.

Only a label at or above the profile's min_label_score is ever asserted; weaker ones
come with a hedge level, and the templates say them as guesses. A crop's score
(Label.region_score) helps the index find things but is never said.
"""

from __future__ import annotations

import msgspec

from describe.facts import Label, LabelFacts, ObjectCount, ObjectFacts
from describe.knowledge.crosscheck import refines
from describe.knowledge.taxonomy import is_place
from describe.knowledge.vocabulary import normalise_tag
from describe.render.scene import MAX_NAMED_OBJECTS

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


def named_objects(objects: ObjectFacts | None) -> list[ObjectCount]:
    return list(objects.counts[:MAX_NAMED_OBJECTS]) if objects else []


def by_score(labels: LabelFacts | None) -> list[Label]:
    # the list comes sorted by Label.best, which counts crops; what may be said is the whole image
    return sorted(labels.labels, key=lambda lb: -lb.score) if labels else []


def setting(labels: LabelFacts | None, min_score: float) -> str | None:
    """The best scene-like label ('seashore', 'library'), if one is confident enough."""
    return next((lb.name for lb in by_score(labels) if is_place(lb) and lb.score >= min_score), None)


def possible_setting(labels: LabelFacts | None, min_score: float) -> str | None:
    """The best scene-like label too weak to assert but worth a hedge ('it may be a valley')."""
    if setting(labels, min_score):
        return None
    return next((lb.name for lb in by_score(labels) if is_place(lb) and lb.score >= POSSIBLE), None)


def extra_labels(objects: ObjectFacts | None, labels: LabelFacts | None, min_score: float) -> list[Label]:
    """Confident labels that say something the objects don't (no repeats, no scene labels)."""
    seen = {normalise_tag(c.label) for c in named_objects(objects)}
    extra = []
    for label in by_score(labels):
        tag = normalise_tag(label.name)
        if label.score < min_score or is_place(label) or tag in seen:
            continue
        seen.add(tag)
        extra.append(label)
    return extra


def best_label(
    objects: ObjectFacts | None, labels: LabelFacts | None, min_score: float
) -> tuple[Label, str | None] | None:
    """The most confident label worth adding to the objects, and the detected object it
    refines (a 'tabby' for the 'cat', a 'golden retriever' for the 'dog'), or None when
    it names something else."""
    named = named_objects(objects)
    raw_names = {c.label for c in named}
    object_tags = {normalise_tag(c.label) for c in named}
    for label in by_score(labels):
        if label.score < min_score or is_place(label) or label.name.lower() in raw_names:
            continue
        refined = next((c.label for c in named if refines(label, c.label)), None)
        if refined:
            return label, refined
        if normalise_tag(label.name) in object_tags:
            continue  # a synonym of a detected object: says nothing new
        return label, None
    return None


def kind_of(label: Label, *said: str) -> str:
    """What the label is a kind of (its nearest WordNet ancestor: a tabby → cat), or ""
    when that repeats the label ("a great white shark, a kind of shark") or a noun
    already said ("a cat, most likely a tabby, a kind of cat")."""
    kind = label.hypernyms[0] if label.hypernyms else ""
    if not kind or kind.lower() in label.name.lower():
        return ""
    return "" if normalise_tag(kind) in {normalise_tag(n) for n in said} else kind


def guess(labels: LabelFacts | None, min_score: float) -> Guess | None:
    """The classifier's best candidate(s) with a hedge level; None when all are noise."""
    candidates = [lb for lb in by_score(labels) if lb.score >= WEAK_FLOOR]
    if not candidates:
        return None
    best = candidates[0]
    kind = kind_of(best)
    if best.score >= min_score:
        return Guess("assert", (best.name,), is_place(best), kind)
    level = "possible" if best.score >= POSSIBLE else "weak"
    names = [best.name]
    if len(candidates) > 1 and candidates[1].score >= CLOSE * best.score:
        names.append(candidates[1].name)
    return Guess(level, tuple(dict.fromkeys(names)), is_place(best), kind)


def likely_category(labels: LabelFacts | None, min_score: float) -> tuple[str, Label] | None:
    """When no single label is confident but several agree on a kind of thing
    (palace 0.18, church 0.17, castle 0.15: a building), the category and its best label."""
    totals: dict[str, float] = {}
    best: dict[str, Label] = {}
    for label in by_score(labels):
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
    candidates = [lb for lb in by_score(labels) if lb.score >= WEAK_FLOOR]
    if candidates:
        best = candidates[0]
        for ancestor in best.hypernyms:
            sharing = [lb for lb in candidates if ancestor in lb.hypernyms]
            if len(sharing) >= 2 and sum(lb.score for lb in sharing) >= min_score:
                return Kind(ancestor, best.name)
    found = likely_category(labels, min_score)
    return Kind(found[0], found[1].name) if found else None
