"""Thumbnails written at index time: <data_dir>/thumbs/<point id>.webp.

They are made from the PreparedImage, which is already upright (EXIF
orientation applied) and RGB, so pages never need the original file.
"""

from __future__ import annotations

import io
import logging
import uuid
from pathlib import Path

from PIL import Image

from describe.local_files import replacing

logger = logging.getLogger(__name__)

THUMB_SIDE = 384
THUMB_QUALITY = 80
# libwebp's effort (0-6). 4, Pillow's default, took 16 ms a thumbnail on the bench
# samples, a sixth of what indexing adds to describing; 2 takes 11 ms for files 3 % larger.
THUMB_METHOD = 2


def thumbnail_path(data_dir: str | Path, id: str) -> Path:
    """The file for a point id. Ids arrive in request URLs, so anything that is not
    a UUID is refused before it can become part of a path."""
    try:
        canonical = str(uuid.UUID(id))
    except (ValueError, AttributeError, TypeError):
        raise ValueError(f"not a valid image id: {id!r}") from None
    return Path(data_dir) / "thumbs" / f"{canonical}.webp"


def thumbnail_bytes(image: Image.Image) -> bytes:
    """The encoded thumbnail: CPU work the indexer does ahead, in its reading thread."""
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, format="WEBP", quality=THUMB_QUALITY, method=THUMB_METHOD)
    return out.getvalue()


def write_thumbnail(data_dir: str | Path, id: str, image: Image.Image | bytes) -> Path:
    """Written atomically (describe/local_files.py): a kill mid-write never leaves a truncated
    thumbnail under the final name. `image`: the picture, or thumbnail_bytes."""
    target = thumbnail_path(data_dir, id)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = image if isinstance(image, bytes) else thumbnail_bytes(image)
    with replacing(target) as tmp:
        tmp.write_bytes(data)
    return target


def delete_thumbnail(data_dir: str | Path, id: str) -> None:
    thumbnail_path(data_dir, id).unlink(missing_ok=True)
