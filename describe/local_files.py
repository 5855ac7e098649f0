"""Files this machine writes for itself.

`replacing`: files that appear whole or not at all, written under a temporary name in the
target's folder, then renamed over it (a rename within one file system is atomic). A kill
mid-write leaves no truncated file under the final name; a failed write leaves no
temporary file behind. Used for thumbnails, XMP sidecars and exports, the prepared ONNX
models (embedder and detector) and the label phrase cache.

`default_cache_dir`: where models prepared on this machine live (the default embedder's
ONNX graph, the object detector translated from TensorFlow): the user's cache, or
$XDG_CACHE_HOME. One place, so `imgdesc models prepare` and every loader agree.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A fresh temporary path beside `target` to write to. On a clean exit it becomes
    `target`, readable by all (mkstemp makes it private; these are shared files); on an
    exception it is removed and the exception goes on."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "imgdesc" / "models"
