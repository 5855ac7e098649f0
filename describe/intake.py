"""Image intake: the one place where bytes become pixels.

Everything that decodes user input lives here, so every analyzer can rely on
an upright RGB image whose longest side is at most ``max_side`` pixels.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from describe.errors import (
    CorruptImageError,
    EmptyFileError,
    FileTooLargeError,
    NotAnImageError,
    TooManyPixelsError,
)

# Formats we accept. Pillow can open more (EPS, PSD, …) but those pull in
# external tools or are rarely what a user meant to upload.
# MPO (multi-picture JPEG from cameras) is opened by the JPEG plugin.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF", "HEIF")

#: Transparent pixels are flattened onto this colour. White matches how
#: product shots with alpha are shown on a page.
FLATTEN_BACKGROUND = (255, 255, 255)

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
        data = source
        label = name or "<upload>"
    else:
        path = Path(source)
        label = name or str(path)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NotAnImageError(f"{label}: file not found") from None
        if path.is_dir():
            raise NotAnImageError(f"{label}: is a directory, not an image")
        _check_size(label, size, limits)
        data = path.read_bytes()
    _check_size(label, len(data), limits)
    return _decode(data, label, limits)


def _available_formats() -> list[str]:
    Image.init()
    return [fmt for fmt in ACCEPTED_FORMATS if fmt in Image.OPEN]


def _check_size(label: str, size: int, limits: IntakeLimits) -> None:
    if size == 0:
        raise EmptyFileError(f"{label}: empty file")
    if size > limits.max_bytes:
        raise FileTooLargeError(
            f"{label}: file is {size / 1e6:.1f} MB, over the {limits.max_bytes / 1e6:.0f} MB limit",
            {"bytes": size, "limit": limits.max_bytes},
        )


def _decode(data: bytes, label: str, limits: IntakeLimits) -> PreparedImage:
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below; silence Pillow's warning twin.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=_available_formats())
    except UnidentifiedImageError:
        raise NotAnImageError(f"{label}: not an image (or an unsupported format)") from None
    except Image.DecompressionBombError:
        raise TooManyPixelsError(f"{label}: too many pixels (decompression bomb guard)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImageError(f"{label}: cannot read image: {exc}") from None

    fmt = img.format or "UNKNOWN"
    width, height = img.size
    if width * height > limits.max_pixels:
        raise TooManyPixelsError(
            f"{label}: {width}×{height} is {width * height / 1e6:.0f} MP, over the "
            f"{limits.max_pixels / 1e6:.0f} MP limit",
            {"width": width, "height": height, "limit": limits.max_pixels},
        )
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animations: the first frame describes the image
        # JPEG can decode at 1/2, 1/4, 1/8 scale for free; ask for at least max_side.
        img.draft("RGB", (limits.max_side, limits.max_side))
        img.load()
        upright: Image.Image = ImageOps.exif_transpose(img) or img
        rgb = _to_rgb(upright)
    except Image.DecompressionBombError:
        raise TooManyPixelsError(f"{label}: too many pixels (decompression bomb guard)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"{label}: truncated or corrupt image: {exc}") from None
    if max(rgb.size) > limits.max_side:
        # Longest side capped at max_side, aspect kept; LANCZOS keeps fine text legible for OCR.
        rgb.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    return PreparedImage(image=rgb, format=fmt, original_width=width, original_height=height, source=label)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any mode → 8-bit RGB; transparency flattened onto FLATTEN_BACKGROUND."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Pillow's convert clips 16-bit and float data to 0..255; scale to the real range instead.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
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
