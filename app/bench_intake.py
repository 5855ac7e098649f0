"""Peak memory of decoding one very large image: `load_image` on a generated
~96 MP PNG (RGB and RGBA) and JPEG, each in a fresh process, so the number is
the decode's own high-water mark (ru_maxrss) and nothing else this process holds.

Only JPEG can be decoded at a reduced size (draft mode); Pillow decodes every
other format to a full-size raster of 4 bytes per pixel, which is the floor:
~384 MB at 96 MP. Everything after it runs on strips (describe/intake.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec

#: Under the 100 MP limit, like the upload that took the server to 1.66 GB.
SIZE = (12_000, 8_000)

_MAKE = """
import sys
from PIL import Image
w, h, mode, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
g = Image.linear_gradient("L").resize((w, h))
bands = [g, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT), g.transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
Image.merge(mode, bands + [g.rotate(90)] * (mode == "RGBA")).save(out, quality=85, compress_level=1)
"""

_LOAD = """
import json, resource, sys
from describe.intake import IntakeLimits, load_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
image = load_image(sys.argv[1], IntakeLimits(max_bytes=1 << 30))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024, "size": image.image.size}))
"""


class IntakePeak(msgspec.Struct):
    name: str  # e.g. "96 MP PNG, RGBA"
    megapixels: float
    file_mb: float
    before_mb: float  # the child's peak after imports, before decoding
    peak_mb: float  # … and after load_image


def make_image(path: Path, size: tuple[int, int] = SIZE, mode: str = "RGB") -> Path:
    """A smooth gradient (compresses to a few MB) at `size`, written in a child process."""
    subprocess.run([sys.executable, "-c", _MAKE, str(size[0]), str(size[1]), mode, str(path)], check=True)
    return path


def load_peak(path: Path) -> tuple[float, float]:
    """(MB before decoding, peak MB after) of `load_image(path)` in a fresh process."""
    out = subprocess.run([sys.executable, "-c", _LOAD, str(path)], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.splitlines()[-1])
    return float(found["before_mb"]), float(found["peak_mb"])


def run(folder: Path) -> list[IntakePeak]:
    results = []
    for mode, suffix in (("RGB", "png"), ("RGBA", "png"), ("RGB", "jpg")):
        path = make_image(folder / f"large-{mode.lower()}.{suffix}", SIZE, mode)
        before, peak = load_peak(path)
        megapixels = SIZE[0] * SIZE[1] / 1e6
        name = f"{megapixels:.0f} MP {suffix.upper()}, {mode}"
        results.append(IntakePeak(name, megapixels, path.stat().st_size / 1e6, before, peak))
    return results
