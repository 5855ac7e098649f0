"""Image intake: the one place where bytes become pixels.

Everything that decodes user input lives here, so every analyzer can rely on
an upright RGB image whose longest side is at most ``max_side`` pixels.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from describe.errors import (
    CorruptImageError,
    EmptyFileError,
    FileTooLargeError,
    NotAnImageError,
    TooManyPixelsError,
)
from describe.provenance.metadata import FileMetadata, read_metadata
from describe.provenance.png_text import drop_oversized_text, undecodable_text

# Formats we accept. Pillow can open more (EPS, PSD, …) but those pull in
# external tools or are rarely what a user meant to upload.
# MPO (multi-picture JPEG from cameras) is opened by the JPEG plugin.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF", "HEIF")

#: Transparent pixels are flattened onto this colour. White matches how
#: product shots with alpha are shown on a page.
FLATTEN_BACKGROUND = (255, 255, 255)

#: Pixels per strip when converting and reducing a decoded image (about 6 MB as RGB).
STRIP_PIXELS = 2_000_000
#: Box-reduce to no less than this many times the target size before the LANCZOS resize.
REDUCING_GAP = 2.0
_WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
# EXIF orientation → the transpose that makes the image upright (as ImageOps.exif_transpose)
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

try:  # HEIC support is optional: pip install pillow-heif
    import pillow_heif  # type: ignore[import-not-found, unused-ignore]

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - depends on the environment
    pass


@dataclass(frozen=True)
class IntakeLimits:
    max_bytes: int = 25 * 1024 * 1024
    # A decompression bomb guard: 100 MP is larger than any real camera frame
    # we expect and small enough that decoding it cannot exhaust memory.
    max_pixels: int = 100_000_000
    max_side: int = 1024


@dataclass(frozen=True)
class PreparedImage:
    """An upright RGB image ready for analysis, plus what we knew of the original."""

    image: Image.Image
    format: str
    original_width: int
    original_height: int
    source: str = "<bytes>"
    extra: dict[str, object] = field(default_factory=dict)
    # the original file's text chunks, XMP and EXIF text, captured before conversion
    metadata: FileMetadata = field(default_factory=FileMetadata)
    # a generation prompt the caller gave; it wins over the file's
    prompt: str | None = None

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    @cached_property
    def rgb(self) -> np.ndarray:
        """H×W×3 uint8 array, computed once and shared by analyzers."""
        return np.asarray(self.image, dtype=np.uint8)

    @cached_property
    def bgr(self) -> np.ndarray:
        """OpenCV's channel order."""
        return np.ascontiguousarray(self.rgb[:, :, ::-1])


def load_image(
    source: str | Path | bytes, limits: IntakeLimits | None = None, name: str | None = None
) -> PreparedImage:
    """Open, validate and normalise an image from a path or bytes.

    Raises a specific ImageError subclass with a readable message for each
    way an input can be unusable.
    """
    limits = limits or IntakeLimits()
    if isinstance(source, bytes):
        label = name or "<upload>"
        _check_size(label, len(source), limits)
        return _decode(io.BytesIO(source), label, limits)
    path = Path(source)
    label = name or str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotAnImageError(f"{label}: file not found") from None
    if path.is_dir():
        raise NotAnImageError(f"{label}: is a directory, not an image")
    _check_size(label, size, limits)
    # decoded from the open file, not from a copy of its bytes: up to max_bytes less at the peak
    try:
        with path.open("rb") as fh:
            return _decode(fh, label, limits)
    except FileNotFoundError:
        raise NotAnImageError(f"{label}: file not found") from None


def _available_formats() -> list[str]:
    Image.init()
    return [fmt for fmt in ACCEPTED_FORMATS if fmt in Image.OPEN]


def _check_size(label: str, size: int, limits: IntakeLimits) -> None:
    if size == 0:
        raise EmptyFileError(f"{label}: empty file")
    if size > limits.max_bytes:
        raise FileTooLargeError(
            f"{label}: file is {size / 2**20:.1f} MiB, over the "
            f"{round(limits.max_bytes / 2**20, 1):g} MiB limit",
            {"bytes": size, "limit": limits.max_bytes},
        )


def _bomb(label: str, exc: Image.DecompressionBombError, limits: IntakeLimits) -> TooManyPixelsError:
    """Pillow refuses a frame over twice its own limit before it tells us the size; its
    message carries the pixel count, which the answer states beside our limit."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(found[1]) / 1e6:.1f} MP" if found else "too many pixels"
    return TooManyPixelsError(
        f"{label}: {size}, over the {limits.max_pixels / 1e6:.0f} MP limit (decompression bomb guard)",
        {"pixels": int(found[1]) if found else None, "limit": limits.max_pixels},
    )


class _TextTooLarge(Exception):
    """A compressed text chunk inflates past Pillow's limit (see _decode)."""


def _decode(fh: BinaryIO, label: str, limits: IntakeLimits) -> PreparedImage:
    """Decode, and when a compressed PNG text chunk is a zip bomb, decode again without it:
    the picture is described, the metadata keeps a note of what was left out."""
    notes = undecodable_text(fh)
    try:
        image = _decode_once(fh, label, limits)
    except _TextTooLarge:
        fh.seek(0)
        data, dropped = drop_oversized_text(fh.read())
        if not dropped:
            raise CorruptImageError(f"{label}: a text chunk is too large to read") from None
        image = _decode_once(io.BytesIO(data), label, limits)
        notes += dropped
    if not notes:
        return image
    return replace(image, metadata=replace(image.metadata, notes=(*image.metadata.notes, *notes)))


def _decode_once(fh: BinaryIO, label: str, limits: IntakeLimits) -> PreparedImage:
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below; silence Pillow's warning twin.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(fh, formats=_available_formats())
    except UnidentifiedImageError:
        raise NotAnImageError(f"{label}: not an image (or an unsupported format)") from None
    except Image.DecompressionBombError as exc:
        raise _bomb(label, exc, limits) from None
    except (OSError, SyntaxError, ValueError) as exc:
        if "MAX_TEXT_CHUNK" in str(exc):
            raise _TextTooLarge from None
        raise CorruptImageError(f"{label}: cannot read image: {exc}") from None

    fmt = img.format or "UNKNOWN"
    width, height = img.size
    if width * height > limits.max_pixels:
        raise TooManyPixelsError(
            f"{label}: {width}×{height} is {width * height / 1e6:.1f} MP, over the "
            f"{limits.max_pixels / 1e6:.0f} MP limit",
            {"width": width, "height": height, "limit": limits.max_pixels},
        )
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animations: the first frame describes the image
        # JPEG can decode at 1/2, 1/4, 1/8 scale for free; ask for at least max_side.
        img.draft("RGB", (limits.max_side, limits.max_side))
        img.load()
        orientation = _ORIENTATION.get(img.getexif().get(ExifTags.Base.Orientation, 1))
        metadata = read_metadata(img)  # before the raster is converted and the file closed
        rgb = _shrink_to_rgb(img, limits.max_side)
    except Image.DecompressionBombError as exc:
        raise _bomb(label, exc, limits) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if "MAX_TEXT_CHUNK" in str(exc):  # a text chunk after the pixels
            raise _TextTooLarge from None
        raise CorruptImageError(f"{label}: truncated or corrupt image: {exc}") from None
    finally:
        img.close()  # the full-size raster goes now, not when the caller drops its last reference
    if orientation is not None:
        rgb = rgb.transpose(orientation)
    return PreparedImage(
        image=rgb, format=fmt, original_width=width, original_height=height, source=label, metadata=metadata
    )


def _shrink_to_rgb(img: Image.Image, max_side: int) -> Image.Image:
    """The decoded image as RGB with its longest side at most max_side.

    Pillow decodes PNG, WebP, TIFF and the rest at full size (only JPEG has draft
    mode), so that raster is the floor of peak memory: 288 MB for a 96 MP RGB PNG.
    Everything after it works on strips a few megapixels big — mode conversion,
    then an integer box reduce — so no second full-size copy is ever made (a
    whole-image convert, transpose or premultiplied-alpha resize would double or
    triple the peak). A LANCZOS resize of the small result gives the final size.
    """
    width, height = img.size
    # Like thumbnail(reducing_gap=2): box-reduce to at least twice the target, then LANCZOS,
    # which keeps fine text legible for OCR.
    factor = max(1, int(max(width, height) / max_side / REDUCING_GAP))
    value_range = img.getextrema() if img.mode in _WIDE_MODES else None
    rows = max(factor, STRIP_PIXELS // max(width, 1) // factor * factor)
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        strip = _to_rgb(img.crop((0, top, width, min(top + rows, height))), value_range)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    if max(width, height) > max_side:
        target = _fit(width, height, max_side)
        out = out.resize(target, Image.Resampling.LANCZOS)
    return out


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) scaled so the longest side is `side`, aspect kept, never 0."""
    scale = side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(img: Image.Image, value_range: object = None) -> Image.Image:
    """Any mode → 8-bit RGB; transparency flattened onto FLATTEN_BACKGROUND.
    `value_range`: the (min, max) of the whole image, for a strip of a 16-bit or float one."""
    if img.mode in _WIDE_MODES:
        # Pillow's convert clips 16-bit and float data to 0..255; scale to the real range instead.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = value_range if isinstance(value_range, tuple) else (arr.min(), arr.max())
        lo, hi = float(lo), float(hi)
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo) * 255.0
        img = Image.fromarray(scaled.round().astype(np.uint8), mode="L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode == "P" and "transparency" in img.info
    )
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, FLATTEN_BACKGROUND)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode == "CMYK":
        # Pillow's naive CMYK→RGB is what most viewers show without an ICC profile.
        return img.convert("RGB")
    return img.convert("RGB") if img.mode != "RGB" else img
