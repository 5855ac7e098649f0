"""Detections the classifier contradicts are set aside, never named (describe/knowledge/crosscheck.py)."""

from __future__ import annotations

from describe.analyzers.objects import set_aside_doubted
from describe.facts import DetectedObject, Label, LabelFacts, ObjectCount, ObjectFacts
from describe.knowledge.crosscheck import doubted

BOX = (0.1, 0.1, 0.9, 0.9)


def _obj(label: str, score: float = 0.95) -> DetectedObject:
    return DetectedObject(label, score, BOX)


def test_a_made_thing_is_doubted_when_the_classifier_sees_a_natural_one() -> None:
    # ginger root: the detector's nearest COCO class is a teddy bear
    labels = [Label("hen-of-the-woods", 0.31, "plant", hypernyms=("fungus",)), Label("dough", 0.16, "food")]
    assert doubted(_obj("teddy bear"), labels)


def test_one_animal_for_another_is_doubted_unless_a_candidate_names_it() -> None:
    camel = Label("Arabian camel", 0.6, "animal", hypernyms=("camel", "mammal"))
    assert doubted(_obj("sheep"), [camel])
    # a tabby and a beagle in one photo: the dog is supported by a weaker candidate
    tabby = Label("tabby", 0.45, "animal", hypernyms=("cat", "mammal"))
    beagle = Label("beagle", 0.2, "animal", hypernyms=("dog", "mammal"))
    assert not doubted(_obj("dog"), [tabby, beagle])
    assert not doubted(_obj("cat"), [tabby, beagle])


def test_people_are_doubted_only_by_a_confident_animal() -> None:
    assert not doubted(_obj("person"), [Label("military uniform", 0.71, "clothing")])
    assert doubted(_obj("person", 0.7), [Label("rock crab", 0.64, "animal")])


def test_things_that_go_together_support_each_other() -> None:
    assert not doubted(_obj("cup"), [Label("espresso", 0.85, "drink")])
    assert not doubted(_obj("tie"), [Label("military uniform", 0.71, "clothing")])


def test_a_confident_label_of_another_kind_overrules_the_detector() -> None:
    assert doubted(_obj("stop sign"), [Label("microphone", 0.97, "device")])
    # a weak one does not: the detector may well be right
    assert not doubted(_obj("stop sign"), [Label("microphone", 0.2, "device")])
    assert not doubted(_obj("teddy bear"), [])


def test_doubted_detections_are_set_aside_and_the_rest_recounted() -> None:
    found = ObjectFacts(
        objects=(_obj("teddy bear", 0.97), _obj("cup", 0.8)),
        counts=(ObjectCount("teddy bear", 1, 0.97), ObjectCount("cup", 1, 0.8)),
    )
    labels = LabelFacts(labels=(Label("dough", 0.1, "food"), Label("sea urchin", 0.18, "animal")))
    checked = set_aside_doubted(found, labels)
    assert [o.label for o in checked.objects] == ["cup"]
    assert [c.label for c in checked.counts] == ["cup"]
    assert [o.label for o in checked.doubted] == ["teddy bear"]
    # nothing to doubt: the facts come back as they were
    assert set_aside_doubted(found, LabelFacts(labels=(Label("teddy", 0.9, "household"),))) is found


def test_a_setting_never_contradicts_what_stands_in_it() -> None:
    seashore = Label("seashore", 0.6, "landscape")
    palace = Label("palace", 0.7, "building")
    assert not doubted(_obj("boat"), [seashore])
    assert not doubted(_obj("car"), [palace])
    # the first thing after the settings decides: a plant is no bird
    assert doubted(_obj("bird"), [seashore, Label("daisy", 0.3, "plant", hypernyms=("flower", "plant"))])
