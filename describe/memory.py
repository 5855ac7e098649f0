"""Give freed heap back to the OS after each image.

The model runtimes (ONNX Runtime for OCR, OpenCV DNN) allocate buffers sized to
each input; glibc keeps the freed pages, so a long-running describer's RSS
creeps up to ~650 MB. malloc_trim(0) returns them (measured: 628 → 391 MB) for
about 5 ms per image. A no-op where glibc is not the allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> None:
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
