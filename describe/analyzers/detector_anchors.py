"""SSD-MobileNet-v2 COCO's anchors, from its training config, in numpy.

The frozen graph computes its anchors at run time (TF's MultipleGridAnchorGenerator);
the translated graph takes them as a constant. These are the values of the model's
pipeline.config (ssd_mobilenet_v2_coco_2018_03_29, ``ssd_anchor_generator``), and
the generator is TF's ``create_ssd_anchors`` with a unit base anchor. OpenCV's
ssd_mobilenet_v2_coco_2018_03_29.pbtxt encodes the same boxes as PriorBox widths and
heights in pixels; tests/test_objects_onnx.py holds these to OpenCV's prior boxes.
"""

from __future__ import annotations

import math

import numpy as np

MIN_SCALE = 0.2
MAX_SCALE = 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 0.3333)  # 0.3333 as the config writes it, not 1/3
INTERPOLATED_ASPECT_RATIO = 1.0  # one more box per cell, between this layer's scale and the next
# The lowest layer has 3 boxes: a small square at 0.1 and the layer's scale at 2:1 and 1:2.
LOWEST_LAYER_BOXES = ((0.1, 1.0), (MIN_SCALE, 2.0), (MIN_SCALE, 0.5))


def box_shapes(layers: int) -> list[list[tuple[float, float]]]:
    """Per layer, its boxes' (scale, aspect ratio) in the order the predictor emits them."""
    scales = [MIN_SCALE + (MAX_SCALE - MIN_SCALE) * i / (layers - 1) for i in range(layers)] + [1.0]
    shapes = [list(LOWEST_LAYER_BOXES)]
    for layer in range(1, layers):
        scale, following = scales[layer], scales[layer + 1]
        shapes.append([(scale, ratio) for ratio in ASPECT_RATIOS])
        shapes[-1].append((math.sqrt(scale * following), INTERPOLATED_ASPECT_RATIO))
    return shapes


def ssd_anchors(grids: list[tuple[int, int]]) -> np.ndarray:
    """anchors×4 (x0, y0, x1, y1, relative to the image) for the predictors' feature maps
    (height, width each), in their outputs' order: row by row, cell by cell, box by box."""
    rows = []
    for (height, width), shapes in zip(grids, box_shapes(len(grids)), strict=True):
        cy, cx = np.meshgrid(
            (np.arange(height) + 0.5) / height, (np.arange(width) + 0.5) / width, indexing="ij"
        )
        sizes = np.array([(s * math.sqrt(r), s / math.sqrt(r)) for s, r in shapes])  # w, h
        centres = np.stack([cx, cy], axis=-1).reshape(-1, 1, 2)
        rows.append(np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=-1).reshape(-1, 4))
    return np.concatenate(rows).astype(np.float32)
