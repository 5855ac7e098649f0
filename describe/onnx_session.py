"""The ONNX Runtime session options every model here runs with (the OCR models, the
default text embedder), so they behave alike on a small shared machine."""

from __future__ import annotations

from typing import Any


def session_options(threads: int | None) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle workers sleep instead of spinning: with spinning, a query takes ~40× longer
    # as soon as another process holds one of the cores (docs/NEXT_STEPS.md §2), and the
    # OCR sessions took the core the indexer's reading thread needs (describe/analyzers/text.py).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # warnings about unused initialisers are noise
    # Without ORT's arena the buffers of a run go back to malloc (and the describer's
    # trim): 23 MB less resident after a batch of long texts, the same time.
    options.enable_cpu_mem_arena = False
    return options
