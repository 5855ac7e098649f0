"""Detections the whole-image classifier contradicts.

SSD-MobileNet knows 80 COCO classes, so on anything else it reports the nearest of them,
often with confidence: a "teddy bear" 0.95 for ginger root, a "bird" 0.94 for a
daffodil, "sheep" 0.98 for camels, a "stop sign" for a red price tag. The classifier
knows 1000 classes and usually names such a picture better (hen-of-the-woods, daisy,
Arabian camel). Left alone, the wrong detection leads the paragraph, the tags and the
index's confident-facts view ("An image of a brown teddy bear").

A detection is doubted when none of the classifier's candidates supports it and the best
candidate contradicts it. Doubted detections are not named, tagged or indexed; the
objects analyzer reports them in ObjectFacts.doubted, so nothing the detector said is
lost. Measured on both dev sets (docs/EVALUATION.md): 15 of 114 photos change, every
one of them to a truer subject; search MRR within ±0.005.
"""

from __future__ import annotations

from collections.abc import Sequence

from describe.facts import DetectedObject, Label
from describe.knowledge.taxonomy import is_place
from describe.knowledge.vocabulary import normalise_tag, object_category

# The classifier's candidates that may support a detection: its top few, down to the
# level at which a label is still worth a hedge in the paragraph.
SUPPORT_TOP = 5
SUPPORT_FLOOR = 0.03
# How sure the best label must be to overrule the detector:
CONFIDENT = 0.5  # any category
NATURE_CONFLICT = 0.15  # a living thing against a made one, or a plant against an animal
OTHER_ANIMAL = 0.3  # one animal for another (bison for "cow")
ANIMAL_NOT_PERSON = 0.5  # people stand beside whatever the classifier names; a crab is not one
# What kind of thing a category names, for the nature rule: ginger root (plant) is no
# teddy bear (made), a daffodil (plant) no bird (animal); anything else counts as made.
KINGDOM = {"animal": "animal", "plant": "plant", "food": "plant"}
# (detector category, label category) pairs that describe one thing together: a cup of
# espresso, a bowl of soup, a tie on a uniform.
COMPATIBLE = frozenset(
    {
        ("tableware", "drink"),
        ("tableware", "food"),
        ("tableware", "container"),
        ("tableware", "household"),
        ("household", "container"),
        ("furniture", "building"),
        ("accessory", "clothing"),
    }
)


def refines(label: Label, obj: str) -> bool:
    """True when the label names the detected thing, or names it more precisely: a tabby
    for a cat. WordNet ancestors say so when the labels have them (golden retriever →
    dog); without them, a shared coarse category has to do."""
    if normalise_tag(label.name) == normalise_tag(obj):
        return True
    if label.hypernyms:
        return normalise_tag(obj) in {normalise_tag(h) for h in label.hypernyms}
    return object_category(obj) == label.category


def _supports(label: Label, obj: str) -> bool:
    category = object_category(obj)
    return label.category == category or refines(label, obj) or (category, label.category) in COMPATIBLE


def doubted(obj: DetectedObject, labels: Sequence[Label]) -> bool:
    """Whether the classifier's labels (best whole-image score first) contradict the detection.
    A setting (seashore, palace, stage) never does: things stand in settings."""
    things = [lb for lb in labels if not is_place(lb)]
    if not things:
        return False
    best, category = things[0], object_category(obj.label)
    if category == "person":
        return best.category == "animal" and best.score >= ANIMAL_NOT_PERSON
    candidates = [lb for lb in labels[:SUPPORT_TOP] if lb.score >= SUPPORT_FLOOR]
    if category == "animal" and best.category == "animal":
        # The detector's 10 animals stand in for all the others; a second animal in the
        # photo shows up among the candidates (a cat and a dog: "tabby", "beagle").
        return best.score >= OTHER_ANIMAL and not any(refines(lb, obj.label) for lb in candidates)
    if any(_supports(lb, obj.label) for lb in candidates):
        return False
    if best.score >= CONFIDENT:
        return True
    kingdom = KINGDOM.get(category or "", "made")
    return best.score >= NATURE_CONFLICT and kingdom != KINGDOM.get(best.category, "made")
