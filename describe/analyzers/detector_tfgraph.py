"""TensorFlow's GraphDef, read with `protobuf` alone, for describe/analyzers/detector_graph.py.

TensorFlow is ~500 MB to install for reading one frozen graph. The GraphDef is a plain
protobuf message, so its message types are declared here in a FileDescriptorProto,
with the field numbers of TensorFlow's graph.proto, node_def.proto, attr_value.proto,
tensor.proto and tensor_shape.proto, and protobuf's own parser reads the file. Only the
fields the translation reads are declared; protobuf keeps the others as unknown fields.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # type: ignore[import-untyped]

_TF_FLOAT, _TF_INT32, _TF_INT64 = 1, 3, 9  # tensorflow.DataType


@functools.cache
def _graph_def_type() -> Any:
    """A GraphDef message class holding the fields this translation reads; protobuf keeps
    the others as unknown fields."""
    field = descriptor_pb2.FieldDescriptorProto
    one, many = field.LABEL_OPTIONAL, field.LABEL_REPEATED
    proto = descriptor_pb2.FileDescriptorProto(
        name="imgdesc_tf_graph.proto", package="tfgraph", syntax="proto3"
    )

    def message(name: str, fields: list[tuple[str, int, int, int, str]], parent: Any = None) -> Any:
        added = (parent.nested_type if parent else proto.message_type).add(name=name)
        for field_name, number, kind, label, type_name in fields:
            declared = added.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:  # messages only: an empty type_name still counts as set
                declared.type_name = type_name
        return added

    integer, real, flag = field.TYPE_INT64, field.TYPE_FLOAT, field.TYPE_BOOL
    text, raw, sub = field.TYPE_STRING, field.TYPE_BYTES, field.TYPE_MESSAGE
    shape = message("TensorShapeProto", [("dim", 2, sub, many, ".tfgraph.TensorShapeProto.Dim")])
    message("Dim", [("size", 1, integer, one, ""), ("name", 2, text, one, "")], shape)
    message(
        "TensorProto",
        [
            ("dtype", 1, field.TYPE_INT32, one, ""),  # an enum in TF; an open enum reads as int
            ("tensor_shape", 2, sub, one, ".tfgraph.TensorShapeProto"),
            ("tensor_content", 4, raw, one, ""),
            ("float_val", 5, real, many, ""),
            ("int_val", 7, field.TYPE_INT32, many, ""),
            ("int64_val", 10, integer, many, ""),
        ],
    )
    attr = message(
        "AttrValue",
        [
            ("list", 1, sub, one, ".tfgraph.AttrValue.ListValue"),
            ("s", 2, raw, one, ""),
            ("i", 3, integer, one, ""),
            ("f", 4, real, one, ""),
            ("b", 5, flag, one, ""),
            ("tensor", 8, sub, one, ".tfgraph.TensorProto"),
        ],
    )
    message("ListValue", [("s", 2, raw, many, ""), ("i", 3, integer, many, "")], attr)
    node = message(
        "NodeDef",
        [
            ("name", 1, text, one, ""),
            ("op", 2, text, one, ""),
            ("input", 3, text, many, ""),
            ("attr", 5, sub, many, ".tfgraph.NodeDef.AttrEntry"),  # map<string, AttrValue>
        ],
    )
    entry = message(
        "AttrEntry", [("key", 1, text, one, ""), ("value", 2, sub, one, ".tfgraph.AttrValue")], node
    )
    entry.options.map_entry = True
    message("GraphDef", [("node", 1, sub, many, ".tfgraph.NodeDef")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tfgraph.GraphDef"))


def read_graph(data: bytes) -> dict[str, Any]:
    """The frozen graph's nodes by name."""
    graph = _graph_def_type().FromString(data)
    return {node.name: node for node in graph.node}


def constant(tensor: Any) -> np.ndarray:
    """A TensorProto's value."""
    dtype = {_TF_FLOAT: np.float32, _TF_INT32: np.int32, _TF_INT64: np.int64}.get(tensor.dtype)
    if dtype is None:
        raise ValueError(f"unsupported constant type {tensor.dtype}")
    shape = [d.size for d in tensor.tensor_shape.dim]
    if tensor.tensor_content:
        return np.frombuffer(tensor.tensor_content, dtype=dtype).reshape(shape).copy()
    values = {_TF_FLOAT: tensor.float_val, _TF_INT32: tensor.int_val, _TF_INT64: tensor.int64_val}[
        tensor.dtype
    ]
    listed = np.asarray(values, dtype=dtype)
    if listed.size == int(np.prod(shape)):
        return listed.reshape(shape)
    # TF stores a tensor that ends in repeats of one value with that value once
    filled = np.full(shape, listed[-1], dtype=dtype)
    filled.reshape(-1)[: listed.size] = listed
    return filled
