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


def classic_caption(
    objects: ObjectFacts | None, labels: LabelFacts | None, has_text: bool, min_label_score: float
) -> str:
    """One sentence from detector and classifier facts, e.g.
    'An image of a cat, most likely a tabby.'"""
    main = subject(objects)
    extras = extra_labels(objects, labels, min_label_score)
    best = extras[0] if extras else None
    if main and best:
        first = named_objects(objects)[0].label
        same_kind = object_category(first) == best.category or (
            best.category == "animal" and object_category(first) == "animal"
        )
        link = "most likely" if same_kind else "with what looks like"
        return f"An image of {main}, {link} {with_article(best.name)}."
    if main:
        return f"An image of {main}."
    if best:
        return f"An image of what looks like {with_article(best.name)}."
    return "An image with text." if has_text else "An image."
