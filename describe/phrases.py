"""Noun phrases built from facts, shared by the classic captioner and the renderer.

Only what an analyzer found above its threshold is ever named; every phrase
here can be traced back to an ObjectCount or a Label.
"""

from __future__ import annotations

from describe.facts import Label, LabelFacts, ObjectCount, ObjectFacts
from describe.language import count_phrase, join_and, with_article
from describe.vocabulary import normalise_tag, object_category

# Label categories that name where a picture was taken rather than what is in it.
SETTING_CATEGORIES = frozenset({"landscape", "building", "place"})
MAX_NAMED_OBJECTS = 5
# How a coarse label category reads when only the category is certain.
CATEGORY_NOUNS = {
    "animal": "an animal",
    "plant": "a plant",
    "food": "food",
    "drink": "a drink",
    "vehicle": "a vehicle",
    "building": "a building",
    "landscape": "a landscape",
    "clothing": "clothing",
    "device": "a device",
    "furniture": "furniture",
    "instrument": "a musical instrument",
    "structure": "a structure",
}


def named_objects(objects: ObjectFacts | None) -> list[ObjectCount]:
    return list(objects.counts[:MAX_NAMED_OBJECTS]) if objects else []


def subject(objects: ObjectFacts | None) -> str:
    """'two people, a dog and a bench' — the detected objects, most prominent first."""
    return join_and(count_phrase(c.label, c.count) for c in named_objects(objects))


def setting(labels: LabelFacts | None, min_score: float) -> str | None:
    """The best scene-like label ('seashore', 'library'), if one is confident enough."""
    for label in labels.labels if labels else ():
        if label.category in SETTING_CATEGORIES and label.score >= min_score:
            return label.name
    return None


def extra_labels(objects: ObjectFacts | None, labels: LabelFacts | None, min_score: float) -> list[Label]:
    """Confident labels that say something the objects don't (no repeats, no scene labels)."""
    seen = {normalise_tag(c.label) for c in named_objects(objects)}
    extra = []
    for label in labels.labels if labels else ():
        tag = normalise_tag(label.name)
        if label.score < min_score or label.category in SETTING_CATEGORIES or tag in seen:
            continue
        seen.add(tag)
        extra.append(label)
    return extra


def best_label(
    objects: ObjectFacts | None, labels: LabelFacts | None, min_score: float
) -> tuple[Label, bool] | None:
    """The most confident label worth adding to the objects, and whether it
    refines the main object (a 'tabby' for a 'cat', a 'golden retriever' for a
    'dog') rather than naming something else."""
    named = named_objects(objects)
    raw_names = {c.label for c in named}
    object_tags = {normalise_tag(c.label) for c in named}
    for label in labels.labels if labels else ():
        if label.score < min_score or label.category in SETTING_CATEGORIES or label.name.lower() in raw_names:
            continue
        tag = normalise_tag(label.name)
        if named:
            main = named[0].label
            if tag == normalise_tag(main) or object_category(main) == label.category:
                return label, True
            if tag in object_tags:
                continue  # a synonym of a less prominent object: says nothing new
        return label, False
    return None


def classic_caption(
    objects: ObjectFacts | None, labels: LabelFacts | None, has_text: bool, min_label_score: float
) -> str:
    """One sentence from detector and classifier facts, e.g.
    'An image of a cat, most likely a tabby.'"""
    main = subject(objects)
    found = best_label(objects, labels, min_label_score)
    if main and found:
        label, refines = found
        link = "most likely" if refines else "with what looks like"
        return f"An image of {main}, {link} {with_article(label.name)}."
    if main:
        return f"An image of {main}."
    if found:
        return f"An image of what looks like {with_article(found[0].name)}."
    kind = likely_category(labels, min_label_score)
    if kind:
        noun, example = kind
        return f"An image of {noun}, possibly {with_article(example.name)}."
    return "An image with text." if has_text else "An image."


def likely_category(labels: LabelFacts | None, min_score: float) -> tuple[str, Label] | None:
    """When no single label is confident but several agree on a kind of thing
    (palace 0.18, church 0.17, castle 0.15: a building), name the kind."""
    totals: dict[str, float] = {}
    best: dict[str, Label] = {}
    for label in labels.labels if labels else ():
        if label.category in CATEGORY_NOUNS:
            totals[label.category] = totals.get(label.category, 0.0) + label.score
            best.setdefault(label.category, label)
    if not totals:
        return None
    category = max(totals, key=lambda c: totals[c])
    return (CATEGORY_NOUNS[category], best[category]) if totals[category] >= min_score else None
