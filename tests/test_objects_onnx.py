"""The detector on ONNX Runtime: the graph translated from TensorFlow gives OpenCV's
detections, tiles go as one batch, and the prepared file appears once and whole."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from describe.analyzers import detector_onnx
from describe.analyzers.detector_anchors import box_shapes, ssd_anchors
from describe.analyzers.detector_onnx import OnnxDetector, ensure_prepared, prepared_path
from describe.analyzers.detector_tfgraph import constant, read_graph
from describe.analyzers.objects import ObjectDetector
from describe.errors import ModelError
from describe.intake import load_image
from describe.knowledge.labels import model_file
from tests.conftest import encode

SAMPLES = ("astronaut", "chelsea", "coffee")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_prepared(prepared_path(tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def opencv_net() -> cv2.dnn.Net:
    return cv2.dnn.readNetFromTensorflow(
        str(model_file(detector_onnx.GRAPH)), str(model_file(detector_onnx.CONFIG))
    )


def test_the_anchors_are_the_ones_the_frozen_graph_generates() -> None:
    """The frozen graph's anchor generator holds each layer's scales and aspect ratios as
    constants (MultipleGridAnchorGenerator/mul_{8k+15}/x and Sqrt_k/x)."""
    nodes = read_graph(model_file(detector_onnx.GRAPH).read_bytes())
    for layer, shapes in enumerate(box_shapes(6)):
        generator = "MultipleGridAnchorGenerator/"
        scales = constant(nodes[f"{generator}mul_{8 * layer + 15}/x"].attr["value"].tensor)
        ratios = constant(nodes[f"{generator}Sqrt{f'_{layer}' if layer else ''}/x"].attr["value"].tensor)
        np.testing.assert_allclose(scales, [s for s, _ in shapes], rtol=1e-6)
        np.testing.assert_allclose(ratios, [r for _, r in shapes], rtol=1e-6)


def test_the_anchors_are_opencvs_prior_boxes_but_for_its_rounding() -> None:
    graph, config = str(model_file(detector_onnx.GRAPH)), str(model_file(detector_onnx.CONFIG))
    net = cv2.dnn.readNetFromTensorflow(graph, config, cv2.dnn.ENGINE_AUTO, ["PriorBox/concat"])
    net.setInput(np.zeros((1, 3, 300, 300), np.float32))
    priors, _ = net.forward(["PriorBox/concat", "detection_out"])  # OpenCV 5 answers for all outputs at once
    opencv = np.asarray(priors).reshape(2, -1, 4)[0]
    ours = ssd_anchors([(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)])
    assert ours.shape == opencv.shape == (1917, 4)
    # the pbtxt's 1:3 boxes use 0.333 where the model has 0.3333: 0.11 px apart at 300 px
    thin = np.isclose((ours[:, 2] - ours[:, 0]) / (ours[:, 3] - ours[:, 1]), 0.3333, rtol=1e-3)
    np.testing.assert_allclose(ours[~thin], opencv[~thin], atol=2e-6)
    np.testing.assert_allclose(ours[thin], opencv[thin], atol=4e-4)


def blob_of(*images: np.ndarray) -> np.ndarray:
    return cv2.dnn.blobFromImages(list(images), size=(300, 300), swapRB=False, crop=False)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def by_class_then_score(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort((-rows[:, 2], rows[:, 1], rows[:, 0]))]


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLES)
def test_the_translated_graph_gives_opencvs_detections(
    name: str, prepared: Path, opencv_net: cv2.dnn.Net, photos: dict[str, np.ndarray]
) -> None:
    blob = blob_of(photos[name])
    opencv_net.setInput(blob)
    expected = opencv_net.forward().reshape(-1, 7)
    expected = by_class_then_score(expected[expected[:, 2] > detector_onnx.CONFIDENCE_THRESHOLD])
    found = by_class_then_score(OnnxDetector(prepared, threads=2).detect(blob))
    # all of DetectionOutput's 100 rows down to 0.01, not only the confident ones
    assert len(found) == len(expected) == detector_onnx.KEEP_TOP_K
    assert found[:, :2].tolist() == expected[:, :2].tolist()  # batch index and class
    assert np.abs(found[:, 2] - expected[:, 2]).max() < 1e-3
    assert min(iou(a, b) for a, b in zip(found[:, 3:], expected[:, 3:], strict=True)) > 0.99


@pytest.mark.slow
def test_a_batch_gives_each_image_its_own_rows(prepared: Path, photos: dict[str, np.ndarray]) -> None:
    detector = OnnxDetector(prepared, threads=2)
    images = [photos[name] for name in SAMPLES]
    batched = detector.detect(blob_of(*images), 0.3)
    alone = [detector.detect(blob_of(image), 0.3) for image in images]
    assert sorted(set(batched[:, 0].tolist())) == [0.0, 1.0, 2.0]
    for index, rows in enumerate(alone):
        mine = by_class_then_score(batched[batched[:, 0] == index])
        assert mine[:, 1].tolist() == by_class_then_score(rows)[:, 1].tolist()
        np.testing.assert_allclose(mine[:, 2:], by_class_then_score(rows)[:, 2:], atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("tiles", [False, True])
def test_the_analyzer_says_the_same_on_both_runtimes(
    tiles: bool, prepared: Path, photos: dict[str, np.ndarray]
) -> None:
    onnx = ObjectDetector(tiles=tiles, cache_dir=str(prepared.parent))
    opencv = ObjectDetector(tiles=tiles, runtime="opencv")
    for name in SAMPLES:
        image = load_image(encode(photos[name]))
        found, expected = onnx.analyze(image), opencv.analyze(image)
        assert [o.label for o in found.objects] == [o.label for o in expected.objects], name
        assert found.objects, name  # each sample has something to compare
        for a, b in zip(found.objects, expected.objects, strict=True):
            assert abs(a.score - b.score) < 1e-3 and iou(np.array(a.box), np.array(b.box)) > 0.99


def test_the_tiles_go_to_the_session_as_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[int] = []

    class Recording:
        def detect(self, blob: np.ndarray, threshold: float) -> np.ndarray:
            batches.append(len(blob))
            return np.zeros((0, 7), np.float32)

    monkeypatch.setattr(detector_onnx, "open_detector", lambda *_: Recording())
    detector = ObjectDetector(tiles=True)
    detector.load()
    detector.analyze(load_image(encode(np.full((240, 320, 3), 128, np.uint8))))
    assert batches == [5]


@pytest.mark.slow
def test_a_missing_prepared_file_is_built_on_load(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    detector = ObjectDetector(cache_dir=str(tmp_path))
    with caplog.at_level(logging.INFO, logger=detector_onnx.__name__):
        detector.load()
    assert prepared_path(tmp_path).is_file()
    assert "preparing the object detector" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == [prepared_path(tmp_path).name]  # no temporary left


@pytest.mark.slow
def test_a_cache_it_cannot_write_to_costs_time_not_the_detector(
    tmp_path: Path, photos: dict[str, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    detector = ObjectDetector(cache_dir=str(blocker / "models"))
    with caplog.at_level(logging.WARNING, logger=detector_onnx.__name__):
        detector.load()
    assert "cannot create the model cache folder" in caplog.text
    assert "cat" in {o.label for o in detector.analyze(load_image(encode(photos["chelsea"]))).objects}


@pytest.mark.slow
def test_prepare_leaves_a_ready_file_alone(prepared: Path) -> None:
    before = prepared.stat()
    assert ensure_prepared(prepared) == prepared
    after = prepared.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_failed_write_leaves_neither_file_nor_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", full_disk)
    with pytest.raises(ModelError, match="No space left"):
        detector_onnx._keep(tmp_path / "detector.onnx", b"model bytes")
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_prepared_file_names_itself(tmp_path: Path) -> None:
    damaged = prepared_path(tmp_path)
    damaged.write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match="delete it to prepare it again") as raised:
        ObjectDetector(cache_dir=str(tmp_path)).load()
    assert str(damaged) in raised.value.message


@pytest.mark.slow
def test_models_prepare_writes_the_detector_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli.models import models

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    runner = CliRunner()
    runs = [runner.invoke(models, ["prepare"]) for _ in range(2)]
    assert [r.exit_code for r in runs] == [0, 0], runs[0].output
    target = prepared_path(tmp_path / "imgdesc" / "models")
    assert f"object detector ready at {target}" in runs[0].stderr
    assert f"object detector already ready at {target}" in runs[1].stderr
    assert os.access(target, os.R_OK)
