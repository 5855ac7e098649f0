"""Label phrase vectors kept on disk between runs.

The label-distribution view embeds "a photo of a {label}" for every label and ancestor
an image has: a fixed vocabulary (1000 ImageNet classes and their WordNet ancestors),
so each phrase needs embedding once per model, not once per process. Cold, that was
16–22 ms of every image's indexing in a 28-image run (a fifth of the gap between
indexing and describing alone). The file sits beside the default embedder's ONNX export
(Embedder.label_phrase_file: its name carries the model package's version); it is
rewritten (atomically) whenever new phrases were embedded, and ignored when it was
written for another model or phrase template, or cannot be read.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from describe.local_files import replacing

logger = logging.getLogger(__name__)


def load(path: Path, model: str, template: str) -> dict[str, np.ndarray]:
    """The vectors stored for this model and template; {} when there are none."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != model or str(data["template"]) != template:
                return {}
            names, vectors = data["names"], data["vectors"]
            return {str(n): np.asarray(v, dtype=np.float32) for n, v in zip(names, vectors, strict=True)}
    except FileNotFoundError:
        return {}
    except Exception as exc:  # damaged or from an older layout: embed again, rewrite it
        logger.warning("ignoring the label phrase cache %s: %s", path, exc)
        return {}


def save(path: Path, model: str, template: str, vectors: dict[str, np.ndarray]) -> None:
    """Write all vectors at once, through a temporary file and a rename: a reader (or a
    kill) never sees half a file. A cache that cannot be written is only slower."""
    if not vectors:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp, tmp.open("wb") as out:
            np.savez(
                out,
                model=np.array(model),
                template=np.array(template),
                names=np.array(list(vectors)),
                vectors=np.stack(list(vectors.values())),
            )
    except OSError as exc:
        logger.warning("cannot write the label phrase cache %s: %s", path, exc.strerror or exc)
