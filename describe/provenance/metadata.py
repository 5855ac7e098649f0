"""The original file's metadata, captured at intake before the pixels are converted.

Only what the provenance analyzer reads is kept, each value capped, so a PreparedImage
never carries megabytes of someone's text chunk: PNG/WebP text chunks (Pillow's
``info``), the XMP packet, a few EXIF text fields and the IPTC-IIM keywords, title and
caption (JPEG's Photoshop block, TIFF's IPTC tag). Nothing here raises: metadata
that cannot be read is dropped with a note, and the image is still described.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageFile, IptcImagePlugin

#: One text value (a PNG chunk, an EXIF field). A1111 prompts are a few KiB; a ComfyUI
#: `prompt` graph tens of KiB; its `workflow` (layout included) can reach a few hundred.
MAX_VALUE_BYTES = 512 * 1024
#: All text values of one image together.
MAX_TOTAL_BYTES = 2 * 1024 * 1024
MAX_XMP_BYTES = 512 * 1024
MAX_TEXT_KEYS = 32
MAX_KEY_CHARS = 80

# EXIF text fields that carry descriptions or the writing tool (tag ids from the EXIF 2.32 spec).
EXIF_IFD0 = {
    0x010E: "ImageDescription",
    0x0131: "Software",
    0x013B: "Artist",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9E: "XPKeywords",
}
EXIF_SUB_IFD = 0x8769
EXIF_SUB = {0x9286: "UserComment"}
# IPTC-IIM datasets (record 2, the IIM 4.2 spec) people write words into; 1:90 names the
# character set of the rest (ESC % G is UTF-8)
IPTC_DATASETS = {(2, 25): "Keywords", (2, 5): "ObjectName", (2, 120): "Caption-Abstract"}
IPTC_CHARSET = (1, 90)
IPTC_UTF8 = b"\x1b%G"
# The IIM caps a keyword at 64 bytes, but nothing enforces it: a count cap as well
MAX_IPTC_VALUES = 256
# Pillow keys in `info` that are not text chunks
_NOT_TEXT = frozenset({"exif", "xmp", "icc_profile", "dpi", "transparency", "gamma", "aspect", "srgb"})


@dataclass(frozen=True)
class FileMetadata:
    """Raw metadata of the original file, capped; decoded by describe/provenance.py."""

    text: dict[str, str] = field(default_factory=dict)  # PNG tEXt/iTXt/zTXt, WebP, GIF comment
    xmp: bytes = b""
    exif: dict[str, str | bytes] = field(default_factory=dict)  # EXIF_IFD0 / EXIF_SUB names
    iptc: dict[str, tuple[str, ...]] = field(default_factory=dict)  # IPTC_DATASETS names, decoded
    notes: tuple[str, ...] = ()


def read_metadata(img: Image.Image) -> FileMetadata:
    """What `img` (just opened and loaded, before any conversion) carries. Never raises."""
    notes: list[str] = []
    text = _text_chunks(img, notes)
    xmp = _xmp(img, notes)
    exif = _exif(img, notes)
    iptc = _iptc(img, notes)
    return FileMetadata(text=text, xmp=xmp, exif=exif, iptc=iptc, notes=tuple(notes))


def _size(value: str | bytes) -> int:
    # characters are at most 4 bytes of UTF-8: an upper bound without encoding a huge string
    return len(value) if isinstance(value, bytes) else len(value) * (4 if not value.isascii() else 1)


def _text_chunks(img: Image.Image, notes: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    total = 0
    try:
        items = list(img.info.items())
    except Exception:  # a plugin's info is a dict; anything else is not worth a failure
        return out
    for key, value in items:
        if not isinstance(key, str) or key in _NOT_TEXT or key.startswith("XML:"):
            continue
        if isinstance(value, bytes):  # a GIF comment, a WebP chunk: text is UTF-8 or nothing
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                notes.append(f"metadata {key[:MAX_KEY_CHARS]!r} is not UTF-8 text: ignored")
                continue
        if not isinstance(value, str):
            continue
        if type(value) is str and not value.isascii():  # a PNG tEXt chunk, which Pillow reads as Latin-1
            value = _tEXt_text(key, value, notes)
        if len(out) >= MAX_TEXT_KEYS:
            notes.append(f"more than {MAX_TEXT_KEYS} text chunks: the rest ignored")
            break
        size = _size(value)
        if size > MAX_VALUE_BYTES or total + size > MAX_TOTAL_BYTES:
            notes.append(
                f"text chunk {key[:MAX_KEY_CHARS]!r} is {size / 2**20:.1f} MiB, over the limit: ignored"
            )
            continue
        total += size
        out[key[:MAX_KEY_CHARS]] = value
    return out


def _tEXt_text(key: str, value: str, notes: list[str]) -> str:
    """tEXt is Latin-1 by the PNG spec, but ComfyUI and A1111 write UTF-8 bytes into it
    ("café" would read as "cafÃ©"): UTF-8 when the bytes are, else Latin-1 with a note."""
    raw = value.encode("latin-1", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        notes.append(f"the tEXt chunk {key[:MAX_KEY_CHARS]!r} is not valid UTF-8: read as Latin-1")
        return value


def _xmp(img: Image.Image, notes: list[str]) -> bytes:
    raw = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if raw is None and hasattr(img, "tag_v2"):  # TIFF keeps XMP in tag 700
        raw = img.tag_v2.get(700)
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    if not isinstance(raw, bytes) or not raw:
        return b""
    if len(raw) > MAX_XMP_BYTES:
        notes.append(f"XMP packet is {len(raw) / 2**20:.1f} MiB, over the limit: ignored")
        return b""
    return raw


def _exif(img: Image.Image, notes: list[str]) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {}
    try:
        exif = img.getexif()
        values = [(name, exif.get(tag)) for tag, name in EXIF_IFD0.items()]
        sub = exif.get_ifd(EXIF_SUB_IFD)
        values += [(name, sub.get(tag)) for tag, name in EXIF_SUB.items()]
    except Exception as exc:  # corrupt EXIF: Pillow raises whatever its parser met
        notes.append(f"EXIF unreadable: {type(exc).__name__}")
        return out
    for name, value in values:
        if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
            value = bytes(value)  # XPComment arrives as a tuple of byte values
        if not isinstance(value, str | bytes) or not value:
            continue
        if _size(value) > MAX_VALUE_BYTES:
            notes.append(f"EXIF {name} is over the limit: ignored")
            continue
        out[name] = value
    return out


def _iptc(img: Image.Image, notes: list[str]) -> dict[str, tuple[str, ...]]:
    """IPTC_DATASETS as text: UTF-8 when 1:90 says so, else UTF-8 when it decodes, else
    Latin-1 (old writers used the platform's 8-bit set and said nothing)."""
    if not isinstance(img, ImageFile.ImageFile):
        return {}
    try:  # None for formats without IPTC (only JPEG, MPO and TIFF carry it)
        info = IptcImagePlugin.getiptcinfo(img)
    except Exception as exc:  # a damaged Photoshop block: Pillow raises whatever its parser met
        notes.append(f"IPTC unreadable: {type(exc).__name__}")
        return {}
    if not info:
        return {}
    utf8 = info.get(IPTC_CHARSET) == IPTC_UTF8
    out: dict[str, tuple[str, ...]] = {}
    for key, name in IPTC_DATASETS.items():
        raw = info.get(key)
        values = [raw] if isinstance(raw, bytes) else list(raw or [])
        if len(values) > MAX_IPTC_VALUES:
            notes.append(f"IPTC {name} has {len(values)} values; the first {MAX_IPTC_VALUES} are read")
            values = values[:MAX_IPTC_VALUES]
        if sum(len(v) for v in values) > MAX_VALUE_BYTES:
            notes.append(f"IPTC {name} is over the limit: ignored")
            continue
        texts = tuple(_iptc_text(v, utf8) for v in values if v)
        if texts:
            out[name] = texts
    return out


def _iptc_text(value: bytes, utf8: bool) -> str:
    if utf8:
        return value.decode("utf-8", "replace")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
