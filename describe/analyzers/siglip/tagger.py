"""`siglip2`: zero-shot tags from SigLIP 2, and the image embedding behind them.

The vocabulary's text embeddings are computed once (every tag's prompt and synonyms,
averaged) and kept on disk, keyed by the checkpoint and the vocabulary: the ~800 prompts
take minutes through the text tower on a small CPU, so only the first load (or an edited
vocabulary) pays for them. An image then costs one vision-tower forward and a matrix product.
SigLIP scores each (image, text) pair on its own with a sigmoid,
p = σ(t · cos(image, text) + b), with the temperature t and bias b it learned; p is a
probability per pair, so a per-vocabulary threshold means the same for every image.

Weights missing is not an error: one log line, then the analyzer answers None and
images are described without zero-shot tags (like `auto` falling back to classic).
Enable it with ``use = {zero_shot = "siglip2"}``; options under ``[analyzers.siglip2]``:
`model` (a catalog name, repo id or folder), `vocabulary_file`, `device`, `threads`,
`download`, `cache_dir` (the text vectors; default ~/.cache/imgdesc/tag-vectors).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.analyzers.siglip.catalog import DEFAULT_TAGGER, TAGGERS
from describe.analyzers.siglip.scores import match_probability
from describe.analyzers.siglip.vocabulary import Vocabulary, load_vocabulary
from describe.analyzers.vlm.base import pick_device, quiet_transformers
from describe.analyzers.vlm.hub import torch_missing, weights_path
from describe.errors import ModelError
from describe.facts import Facts, ZeroShotFacts
from describe.intake import PreparedImage
from describe.registry import register

log = logging.getLogger("describe")
TEXT_BATCH = 64
# SigLIP's text tower was trained on 64 tokens padded to the full length; it pools the last
# position, so the padding must be there (and on the right) or the vectors drift
TEXT_LENGTH = 64


def sigmoid_scores(image: np.ndarray, texts: np.ndarray, scale: float, bias: float) -> np.ndarray:
    """σ(scale · cos + bias) of one unit image vector against unit text vectors (rows)."""
    return match_probability(texts @ image, scale, bias)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def _pooled(output: Any) -> Any:
    # transformers 5 returns a model output whose pooler_output is the projected embedding
    return getattr(output, "pooler_output", output)


class SiglipOptions(AnalyzerOptions):
    model: str | None = None  # a tagger from the catalog, a folder or a Hub repo id
    download: bool = False
    device: str = "auto"
    vocabulary_file: str | None = None  # your own tags, added to the built-in vocabulary
    cache_dir: str | None = None  # where the tags' text vectors are kept


@register("siglip2", "siglip")
class SiglipTagger(BaseAnalyzer):
    name = "siglip2"
    Options = SiglipOptions
    opts: SiglipOptions
    produces = "zero_shot"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.vocabulary: Vocabulary = load_vocabulary(self.opts.vocabulary_file)
        wanted = self.opts.model or DEFAULT_TAGGER
        spec = TAGGERS.get(wanted)
        self.source = spec.repo if spec else wanted  # recorded per point as the image model
        self.model_name = spec.name if spec else self.name  # for `imgdesc models pull`
        self.available = False  # weights found and loaded
        self.model: Any = None
        self.processor: Any = None
        self.device = "cpu"
        self.tag_vectors = np.zeros((0, 0), dtype=np.float32)
        self.scale, self.bias = 1.0, 0.0

    @property
    def dim(self) -> int | None:
        """The image and text vectors' length; None without weights."""
        return int(self.tag_vectors.shape[1]) if self.available else None

    def _load(self) -> None:
        if why := torch_missing():
            log.warning("%s runs on PyTorch: %s; describing without zero-shot tags", self.model_name, why)
            return
        import torch

        try:
            path = weights_path(self.model_name, self.source, allow_download=self.opts.download)
        except ModelError as exc:
            log.warning("%s; describing without zero-shot tags", exc.message)
            return
        self.device = pick_device(self.opts.device)
        if self.device == "cpu":
            torch.set_num_threads(max(1, self.opts.threads))
        quiet_transformers()
        self._load_model(path)
        self.available = True

    def _load_model(self, path: Path) -> None:
        from transformers import AutoModel, AutoProcessor

        self.model = AutoModel.from_pretrained(path).to(self.device).eval()
        self.processor = AutoProcessor.from_pretrained(path)
        self.processor.tokenizer.padding_side = "right"
        self.scale = float(self.model.logit_scale.detach().exp())
        self.bias = float(self.model.logit_bias.detach())
        self.tag_vectors = self._cached_tag_vectors(path)

    def _cache_file(self, path: Path) -> Path:
        """A file per (checkpoint, vocabulary, text length). A Hub snapshot's folder names
        its commit; a local folder counts by its weights' size and time."""
        weights = sorted(path.glob("*.safetensors"))
        stamp = [(w.name, w.stat().st_size, w.stat().st_mtime_ns) for w in weights]
        key = msgspec.json.encode([str(path.resolve()), stamp, TEXT_LENGTH, self.vocabulary.tags])
        default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "imgdesc" / "tag-vectors"
        folder = Path(self.opts.cache_dir or default).expanduser()
        return folder / f"{hashlib.sha256(key).hexdigest()[:24]}.npy"

    def _cached_tag_vectors(self, path: Path) -> np.ndarray:
        cache = self._cache_file(path)
        try:
            vectors = np.load(cache)
            if vectors.shape[0] == len(self.vocabulary.tags):
                return vectors
        except (OSError, ValueError):
            pass  # not there yet, or unreadable: computed again
        vectors = self._tag_vectors(self.vocabulary)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(f".{os.getpid()}.tmp")
            with partial.open("wb") as out:
                np.save(out, vectors)
            partial.replace(cache)  # whole or not at all: a reader never sees half a file
        except OSError as exc:  # nowhere to keep it: computed again next time
            log.info("%s: cannot keep the tag vectors in %s: %s", self.name, cache.parent, exc.strerror)
        return vectors

    def _tag_vectors(self, vocabulary: Vocabulary) -> np.ndarray:
        """One unit row per tag: the mean of its prompts' unit vectors (prompt ensembling)."""
        prompts = vocabulary.prompts
        vectors = np.concatenate(
            [self.embed_texts(prompts[i : i + TEXT_BATCH]) for i in range(0, len(prompts), TEXT_BATCH)]
        )
        rows, start = [], 0
        for tag in vocabulary.tags:
            count = len(tag.prompts)
            rows.append(vectors[start : start + count].mean(axis=0))
            start += count
        return _unit(np.stack(rows)).astype(np.float32)

    # --- the towers: only these touch the model -------------------------------------------

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit text vectors, one row per text (lowercased, as SigLIP was trained)."""
        import torch

        length = min(TEXT_LENGTH, int(self.model.config.text_config.max_position_embeddings))
        batch = self.processor.tokenizer(
            [t.lower() for t in texts],
            padding="max_length",
            max_length=length,
            truncation=True,
            return_tensors="pt",
        )
        with torch.inference_mode():
            # no attention mask: the checkpoints were trained on padded text without one
            out = _pooled(self.model.get_text_features(input_ids=batch["input_ids"].to(self.device)))
        return _unit(out.float().cpu().numpy())

    def embed_images(self, images: Sequence[PreparedImage]) -> np.ndarray:
        """Unit image vectors, one row per image."""
        import torch

        batch = self.processor.image_processor(
            images=[image.image.convert("RGB") for image in images], return_tensors="pt"
        )
        with torch.inference_mode():
            out = _pooled(self.model.get_image_features(pixel_values=batch["pixel_values"].to(self.device)))
        return _unit(out.float().cpu().numpy())

    # --- the analyzer and the query side ---------------------------------------------------

    def _analyze(self, image: PreparedImage, facts: Facts) -> ZeroShotFacts | None:
        if not self.available:
            return None
        [vector] = self.embed_images([image])
        scores = sigmoid_scores(vector, self.tag_vectors, self.scale, self.bias)
        return ZeroShotFacts(
            tags=self.vocabulary.select(scores.tolist()),
            source=self.name,
            model=self.source,
            embedding=tuple(round(float(v), 6) for v in vector),
        )

    def embed_query(self, text: str) -> list[float] | None:
        """A search query in the image vectors' space; None without weights."""
        self.load()
        if not self.available or not text.strip():
            return None
        return [float(v) for v in self.embed_texts([text])[0]]


@register("zero_shot", "none")
class NoZeroShot(BaseAnalyzer):
    """The default: no zero-shot tagger (it needs downloaded weights)."""

    name = "zero_shot"
    produces = "zero_shot"
    needs_model = False

    def _analyze(self, image: PreparedImage, facts: Facts) -> None:
        return None
