"""Uploads waiting for "add to catalog", and the copy into the watched folder.

Describing an upload stores nothing in the catalog, but the page offers to add
the image afterwards, so its bytes wait in a small bounded area under the data
dir, named by their sha256 — never by anything the client sent. Adding copies
them into the watched folder under a cleaned, unique name; the watcher then
indexes the file like any other.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from PIL import Image, UnidentifiedImageError

from describe.errors import ImgdescError
from describe.files import IMAGE_EXTENSIONS

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Letters, digits and a few harmless marks; anything else (separators, quotes,
# brackets, control characters) becomes a dash.
_UNSAFE = re.compile(r"[^\w\-.,()+ ]+")
_FORMAT_EXTENSIONS = {
    "JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "DIB": ".bmp",
    "TIFF": ".tif", "HEIF": ".heic", "AVIF": ".avif",
}  # fmt: skip
_MEDIA_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg", ".png": "image/png",
    ".webp": "image/webp", ".gif": "image/gif", ".bmp": "image/bmp", ".dib": "image/bmp",
    ".tif": "image/tiff", ".tiff": "image/tiff", ".heic": "image/heic", ".heif": "image/heif",
    ".avif": "image/avif",
}  # fmt: skip
MAX_STEM = 80


class UploadError(ImgdescError):
    status_code = 409


class Staged:
    def __init__(self, sha256: str, path: Path) -> None:
        self.sha256 = sha256
        self.path = path

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES.get(self.path.suffix.lower(), "application/octet-stream")


def is_sha256(value: str) -> bool:
    return bool(_SHA256.fullmatch(value))


def image_extension(content: bytes, filename: str = "") -> str:
    """The client's extension when it is an image one, else the one for the format
    Pillow detects from the bytes (the watcher only picks up image extensions)."""
    suffix = PurePosixPath(_basename(filename)).suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return suffix
    try:
        with Image.open(io.BytesIO(content)) as image:
            return _FORMAT_EXTENSIONS.get(image.format or "", ".jpg")
    except (UnidentifiedImageError, OSError):
        return ".jpg"


def safe_filename(filename: str, ext: str) -> str:
    """A name that is safe to create in the watched folder: no path separators, no
    leading dot (hidden files are ignored by the indexer), an image extension."""
    stem = PurePosixPath(_basename(filename)).stem
    stem = unicodedata.normalize("NFC", stem)
    stem = "".join(ch for ch in stem if unicodedata.category(ch)[0] != "C")
    stem = _UNSAFE.sub("-", stem)
    stem = re.sub(r"[\s-]*-[\s-]*", "-", stem).strip(" .-")[:MAX_STEM].strip(" .-")
    return f"{stem or 'upload'}{ext}"


def _basename(filename: str) -> str:
    # browsers send a bare name, but old ones sent C:\path\name; never keep a directory
    return PureWindowsPath(PurePosixPath(filename or "").name).name


class UploadArea:
    """At most `max_files` uploads and `max_bytes` in all; the oldest go first."""

    def __init__(self, root: Path, max_files: int = 16, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.root = root
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def put(self, content: bytes, filename: str = "") -> Staged:
        sha = hashlib.sha256(content).hexdigest()
        path = self.root / f"{sha}{image_extension(content, filename)}"
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(content)
                tmp.replace(path)
            path.touch()  # the newest use keeps it longest
            self._prune(keep=path)
        return Staged(sha, path)

    def get(self, sha256: str) -> Staged | None:
        if not is_sha256(sha256) or not self.root.is_dir():
            return None
        for path in self.root.glob(f"{sha256}.*"):
            if path.suffix in IMAGE_EXTENSIONS:
                return Staged(sha256, path)
        return None

    def discard(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    def _prune(self, keep: Path) -> None:
        files = sorted(
            (p for p in self.root.iterdir() if p.is_file() and p != keep),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        total = keep.stat().st_size
        for index, path in enumerate(files):
            total += path.stat().st_size
            if index + 1 >= self.max_files or total > self.max_bytes:
                path.unlink(missing_ok=True)


def copy_into(folder: Path, source: Path, filename: str) -> str:
    """Copy `source` into `folder` as a cleaned `filename`; "name-2.jpg" and so on
    when taken. Exclusive create, so two adds never overwrite each other or a user's
    file. Returns the new file's name (relative to the folder)."""
    name = safe_filename(filename, source.suffix.lower())
    stem, ext = name[: -len(source.suffix)], source.suffix.lower()
    content = source.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = name if n == 1 else f"{stem}-{n}{ext}"
        try:
            with (folder / candidate).open("xb") as fh:
                fh.write(content)
        except FileExistsError:
            continue
        return candidate
    raise UploadError(f"too many files named like {name!r} in the watched folder")
