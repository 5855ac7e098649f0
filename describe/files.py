"""Which files count as images when a user names folders."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".webp",
        ".gif",
        ".bmp",
        ".dib",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
        ".avif",
    }
)


def is_hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name.startswith("~$")


def looks_like_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not is_hidden(path)


def expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given (whatever their extension: the user named them); folders
    walked recursively for image files, hidden ones skipped, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if (
                    child.is_file()
                    and looks_like_image(child)
                    and not any(is_hidden(Path(p)) for p in rel.parts)
                ):
                    yield child
        else:
            yield path
