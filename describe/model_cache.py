"""The folder where models prepared on this machine live (the default embedder's ONNX
graph, the object detector translated from TensorFlow): the user's cache, or
$XDG_CACHE_HOME. One place, so `imgdesc models prepare` and every loader agree."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "imgdesc" / "models"
