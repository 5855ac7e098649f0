"""ObjectDetector: SSD-MobileNet-v2 on real photos, plus its model-free post-processing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from describe import registry
from describe.analyzers.objects import ObjectDetector, count_objects
from describe.facts import DetectedObject, ObjectFacts
from describe.intake import PreparedImage, load_image
from describe.knowledge.labels import coco_labels
from tests.conftest import encode


@pytest.fixture(scope="module")
def detector() -> ObjectDetector:
    det = ObjectDetector(threads=2)
    det.load()
    return det


def prepare(array: np.ndarray) -> PreparedImage:
    return load_image(encode(array))


def detect(detector: ObjectDetector, array: np.ndarray) -> ObjectFacts:
    facts = detector.analyze(prepare(array))
    assert isinstance(facts, ObjectFacts)
    return facts


def assert_valid_boxes(facts: ObjectFacts) -> None:
    for obj in facts.objects:
        x0, y0, x1, y1 = obj.box
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0, obj
        assert 0.0 < obj.score <= 1.0


def test_registered_with_alias() -> None:
    assert registry.get("objects") is ObjectDetector
    assert registry.get("detector") is ObjectDetector


def test_label_map_uses_tf_ids_and_readable_names() -> None:
    labels = coco_labels()
    assert len(labels) == 80
    assert max(labels) == 90 and 12 not in labels  # ids keep the TF API's gaps
    assert labels[1] == "person" and labels[47] == "cup" and labels[67] == "dining table"
    assert labels[77] == "cell phone" and labels[72] == "television"


@pytest.mark.slow
def test_load_is_idempotent(detector: ObjectDetector) -> None:
    session = detector._onnx  # the default runtime's; the OpenCV net stays unloaded
    detector.load()
    detector.load()
    assert detector.loaded and session is not None and detector._onnx is session and detector._net is None


@pytest.mark.slow
def test_cup_on_coffee(detector: ObjectDetector, photos: dict[str, np.ndarray]) -> None:
    facts = detect(detector, photos["coffee"])
    assert_valid_boxes(facts)
    cup = next(obj for obj in facts.objects if obj.label == "cup")
    assert cup.score > 0.9
    # the cup sits in the upper middle of the frame
    assert 0.2 < (cup.box[0] + cup.box[2]) / 2 < 0.8 and (cup.box[1] + cup.box[3]) / 2 < 0.5
    assert "cat" not in {obj.label for obj in facts.objects}


@pytest.mark.slow
def test_cat_on_chelsea(detector: ObjectDetector, photos: dict[str, np.ndarray]) -> None:
    facts = detect(detector, photos["chelsea"])
    assert_valid_boxes(facts)
    assert [(c.label, c.count) for c in facts.counts] == [("cat", 1)]


@pytest.mark.slow
def test_person_on_astronaut(detector: ObjectDetector, photos: dict[str, np.ndarray]) -> None:
    facts = detect(detector, photos["astronaut"])
    assert_valid_boxes(facts)
    assert facts.counts[0].label == "person" and facts.counts[0].count == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["china", "flower", "rocket"])
def test_no_false_positives_on_scenes_without_coco_objects(
    detector: ObjectDetector, photos: dict[str, np.ndarray], name: str
) -> None:
    assert detect(detector, photos[name]).objects == ()


@pytest.mark.slow
@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_image_has_no_objects(detector: ObjectDetector, value: int) -> None:
    assert detect(detector, np.full((480, 640, 3), value, dtype=np.uint8)) == ObjectFacts()


@pytest.mark.slow
def test_counts_merge_instances(detector: ObjectDetector, photos: dict[str, np.ndarray]) -> None:
    cats = np.concatenate([photos["chelsea"], photos["chelsea"]], axis=1)
    facts = detect(detector, cats)
    assert_valid_boxes(facts)
    assert [(c.label, c.count) for c in facts.counts] == [("cat", 2)]
    left, right = sorted(obj.box for obj in facts.objects)
    assert left[2] <= 0.55 and right[0] >= 0.45  # one cat per half


@pytest.mark.slow
def test_tiles_find_a_small_cup(photos: dict[str, np.ndarray]) -> None:
    canvas = np.asarray(Image.fromarray(photos["camera"]).convert("RGB").resize((1024, 768)))
    canvas = canvas.copy()
    canvas[100:340, 150:508] = np.asarray(Image.fromarray(photos["coffee"]).resize((358, 240)))
    image = prepare(canvas)
    tiled = ObjectDetector(tiles=True)
    labels = {obj.label for obj in tiled.analyze(image).objects}
    assert "cup" in labels
    assert_valid_boxes(tiled.analyze(image))


def test_postprocess_removes_duplicates_per_class() -> None:
    det = ObjectDetector()  # postprocess needs no model
    rows = np.array(
        [
            [0, 47, 0.95, 0.30, 0.10, 0.60, 0.50],
            [0, 47, 0.80, 0.31, 0.11, 0.61, 0.52],  # the same cup again
            [0, 51, 0.85, 0.30, 0.10, 0.62, 0.55],  # a bowl in the same place stays
            [0, 47, 0.70, 0.70, 0.60, 0.90, 0.90],  # a second cup
            [0, 47, 0.40, 0.05, 0.05, 0.20, 0.20],  # too weak
            [0, 12, 0.99, 0.10, 0.10, 0.20, 0.20],  # an id the model never uses
            [0, 1, 0.90, -0.05, 0.20, 0.40, 1.08],  # overshoots the frame: clipped
        ],
        dtype=np.float32,
    )
    facts = det.postprocess(rows, [(0.0, 0.0, 1.0, 1.0)])
    assert_valid_boxes(facts)
    assert [obj.score for obj in facts.objects] == sorted((obj.score for obj in facts.objects), reverse=True)
    assert {(c.label, c.count) for c in facts.counts} == {("cup", 2), ("bowl", 1), ("person", 1)}
    person = next(obj for obj in facts.objects if obj.label == "person")
    assert person.box == (0.0, 0.2, 0.4, 1.0)


def test_common_large_objects_pass_a_lower_score() -> None:
    det = ObjectDetector()
    rows = np.array(
        [
            [0, 1, 0.55, 0.1, 0.1, 0.6, 0.9],  # a large person at 0.55: kept
            [0, 1, 0.55, 0.1, 0.1, 0.12, 0.12],  # a tiny one: dropped
            [0, 74, 0.55, 0.1, 0.1, 0.6, 0.9],  # a large computer mouse: dropped
        ],
        dtype=np.float32,
    )
    facts = det.postprocess(rows, [(0.0, 0.0, 1.0, 1.0)])
    assert [(obj.label, obj.box) for obj in facts.objects] == [("person", (0.1, 0.1, 0.6, 0.9))]
    strict = ObjectDetector(min_score=0.6, common_min_score=0.6)
    assert strict.postprocess(rows, [(0.0, 0.0, 1.0, 1.0)]) == ObjectFacts()


def test_max_objects_caps_the_list() -> None:
    det = ObjectDetector(max_objects=3)
    rows = np.array([[0, 47, 0.9 - i / 100, i / 10, 0.0, i / 10 + 0.05, 0.1] for i in range(8)], np.float32)
    facts = det.postprocess(rows, [(0.0, 0.0, 1.0, 1.0)])
    assert len(facts.objects) == 3 and facts.counts[0].count == 3
    assert facts.objects[0].score == pytest.approx(0.9)


def test_counts_order_by_best_score_then_area() -> None:
    objects = (
        DetectedObject("cup", 0.9, (0.0, 0.0, 0.1, 0.1)),
        DetectedObject("table", 0.6, (0.0, 0.0, 1.0, 0.5)),
        DetectedObject("cup", 0.7, (0.5, 0.5, 0.6, 0.6)),
        DetectedObject("fork", 0.8, (0.2, 0.2, 0.3, 0.3)),
        DetectedObject("spoon", 0.95, (0.4, 0.4, 0.5, 0.5)),
    )
    counts = count_objects(objects)
    assert [(c.label, c.count, c.score) for c in counts] == [
        ("spoon", 1, 0.95),
        ("cup", 2, 0.9),
        ("fork", 1, 0.8),
        ("table", 1, 0.6),
    ]
