"""Image vectors for points that lack one, or hold one from another image model: the
image file is read and embedded again, nothing is described again.

Points get an IMAGE vector when they are described with the SigLIP 2 tagger active
(catalog/points.py). Points described before it was enabled, and every point after the
tagger's model changed, are brought in line here, at start-up, next to the text
re-embedding (Indexer.reembed_all); until then they still search through the other views.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from catalog.store.base import Store, StoredImage
from describe.errors import ImageError
from describe.intake import IntakeLimits, PreparedImage, load_image

logger = logging.getLogger(__name__)
BATCH = 16


class ImageEncoder(Protocol):
    """What the SigLIP 2 tagger offers (describe/analyzers/siglip/tagger.py)."""

    source: str  # the model recorded per point as its image_model
    available: bool

    def load(self) -> None: ...

    def embed_images(self, images: Sequence[PreparedImage]) -> np.ndarray: ...


def stale(store: Store, model: str) -> list[tuple[str, StoredImage]]:
    """Points whose image vector is missing or from another model than `model`."""
    return [(pid, p) for pid, p in store.scroll() if p.image_model != model]


def open_first(root: Path, payload: StoredImage, limits: IntakeLimits) -> PreparedImage | None:
    """The first of the point's files that still reads (None when none does)."""
    for rel in payload.paths:
        try:
            return load_image(root / rel, limits, name=rel)
        except (OSError, ImageError):
            continue  # moved or changed since: its own event re-indexes it
    return None


def reembed_images(store: Store, root: Path, encoder: ImageEncoder, limits: IntakeLimits) -> int:
    """Give every stale point an image vector from `encoder`; the number re-embedded.
    Nothing to do when the encoder has no weights here."""
    encoder.load()
    if not encoder.available:
        return 0
    todo = stale(store, encoder.source)
    done = 0
    for start in range(0, len(todo), BATCH):
        opened = [(pid, open_first(root, p, limits)) for pid, p in todo[start : start + BATCH]]
        found = [(pid, image) for pid, image in opened if image is not None]
        if not found:
            continue
        vectors = encoder.embed_images([image for _, image in found])
        store.set_image_vectors(
            [(pid, [float(x) for x in v]) for (pid, _), v in zip(found, vectors, strict=True)], encoder.source
        )
        done += len(found)
    if done:
        logger.info("embedded %d images with %s", done, encoder.source)
    return done
