"""Peak memory of decoding one very large image: `load_image` on a generated
~96 MP PNG (RGB and RGBA) and JPEG, each in a fresh process, so the number is
the decode's own high-water mark (VmHWM) and nothing else this process holds.

Only JPEG can be decoded at a reduced size (draft mode); Pillow decodes every
other format to a full-size raster of 4 bytes per pixel, which is the floor:
~384 MB at 96 MP. Everything after it runs on strips (describe/intake.py)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from app.dev.bench.measure import in_fresh_process

#: Under the 100 MP limit, like the upload that took the server to 1.66 GB.
SIZE = (12_000, 8_000)


class IntakePeak(msgspec.Struct):
    name: str  # e.g. "96 MP PNG, RGBA"
    megapixels: float
    file_mb: float
    before_mb: float  # the child's peak after imports, before decoding
    peak_mb: float  # … and after load_image


def write_gradient(path: Path, size: tuple[int, int], mode: str) -> None:
    """A smooth gradient (compresses to a few MB); run in a child process, so its
    full-size bands never swell this one."""
    from PIL import Image

    g = Image.linear_gradient("L").resize(size)
    bands = [g, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT), g.transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    alpha = [g.rotate(90)] if mode == "RGBA" else []
    Image.merge(mode, bands + alpha).save(path, quality=85, compress_level=1)


def high_water_kib() -> int:
    """This process's peak resident memory in KiB. VmHWM, not ru_maxrss: Linux carries
    ru_maxrss over fork and exec, so a spawned child read at least as large as the bench
    that started it (every row said "612 MB (612 MB before)"); VmHWM starts afresh with
    the new program."""
    import resource

    try:
        with Path("/proc/self/status").open() as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    except (OSError, StopIteration):  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def decode_peak(path: Path) -> tuple[float, float]:
    """(MB before decoding, peak MB after) of `load_image(path)` in this process:
    meant to be the only thing a fresh process does."""
    import io

    from PIL import Image

    from describe.intake import IntakeLimits, load_image

    # a tiny image first: what load_image imports and sets up on its first call counts
    # as "before", not as the large decode's cost
    tiny = io.BytesIO()
    Image.new("RGB", (8, 8)).save(tiny, format="PNG")
    load_image(tiny.getvalue(), IntakeLimits(max_bytes=1 << 30))
    before = high_water_kib()
    load_image(path, IntakeLimits(max_bytes=1 << 30))
    return before / 1024, high_water_kib() / 1024


def make_image(path: Path, size: tuple[int, int] = SIZE, mode: str = "RGB") -> Path:
    """A smooth gradient image at `size`, written in a child process."""
    in_fresh_process(write_gradient, path, size, mode)
    return path


def load_peak(path: Path) -> tuple[float, float]:
    """(MB before decoding, peak MB after) of `load_image(path)` in a fresh process."""
    return in_fresh_process(decode_peak, path)


def run(folder: Path) -> list[IntakePeak]:
    results = []
    for mode, suffix in (("RGB", "png"), ("RGBA", "png"), ("RGB", "jpg")):
        path = make_image(folder / f"large-{mode.lower()}.{suffix}", SIZE, mode)
        before, peak = load_peak(path)
        megapixels = SIZE[0] * SIZE[1] / 1e6
        name = f"{megapixels:.0f} MP {suffix.upper()}, {mode}"
        results.append(IntakePeak(name, megapixels, path.stat().st_size / 1e6, before, peak))
    return results
