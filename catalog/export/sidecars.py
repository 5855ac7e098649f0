"""XMP sidecars on disk: one per path of each image, in a folder tree that mirrors the
watched folder's, each merged into the sidecar already there (catalog/export/xmp.py).

Names: ``photo.jpg.xmp`` by default, as darktable and digiKam write and read them;
every file gets its own (photo.jpg and photo.png in one folder do not share one).
``photo.xmp`` (Adobe: Lightroom, Bridge) on request; two files that would share one
are reported and the second is skipped, never merged into the first one's sidecar.

Only files named ``*.xmp`` inside the output folder are ever written, each through a
temporary file renamed over it (describe/local_files.py): an image file is never opened for
writing, and a stored path that would lead outside the folder ("../…") is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from catalog.export.xmp import SidecarError, sidecar
from catalog.names import on_disk
from catalog.store.base import StoredImage
from describe.local_files import replacing

SUFFIX = ".xmp"
# An existing sidecar larger than this is not merged (darktable's with a long edit
# history are a few hundred KiB)
MAX_SIDECAR_BYTES = 16 * 1024 * 1024


class Naming(StrEnum):
    darktable = "darktable"  # photo.jpg.xmp
    adobe = "adobe"  # photo.xmp


@dataclass
class SidecarSummary:
    written: int = 0  # new sidecars
    merged: int = 0  # existing sidecars with imgdesc's part replaced
    problems: list[str] = field(default_factory=list)  # one line each: what was skipped and why


def sidecar_path(stored: str, naming: Naming = Naming.darktable) -> PurePosixPath:
    """The sidecar's path relative to the output folder, for a stored (relative) path."""
    path = PurePosixPath(on_disk(stored))
    return path.with_name(path.name + SUFFIX) if naming is Naming.darktable else path.with_suffix(SUFFIX)


def write_sidecars(
    records: Iterable[tuple[str, StoredImage]],
    out: Path,
    naming: Naming = Naming.darktable,
    on_problem: Callable[[str], None] | None = None,
) -> SidecarSummary:
    """Write (or merge) the sidecars of `records` under `out`; problems are collected
    (and passed to `on_problem` as they happen) and the rest goes on."""
    summary = SidecarSummary()
    base = out.resolve()
    owners: dict[Path, str] = {}  # sidecar → the path it was written for, in this run

    def problem(line: str) -> None:
        summary.problems.append(line)
        if on_problem is not None:
            on_problem(line)

    for point_id, payload in records:
        for stored in payload.paths:
            target = (base / sidecar_path(stored, naming)).resolve()
            if not target.is_relative_to(base) or target.suffix != SUFFIX:
                problem(f"{stored}: its sidecar would be outside {out}; skipped")
                continue
            if target in owners:
                problem(f"{stored}: its sidecar {target.name} is already {owners[target]}'s; skipped")
                continue
            owners[target] = stored
            try:
                merged = _write_one(target, point_id, payload)
            except (SidecarError, OSError) as exc:
                problem(f"{stored}: sidecar {target} not written: {exc}")
                continue
            if merged:
                summary.merged += 1
            else:
                summary.written += 1
    return summary


def _write_one(target: Path, point_id: str, payload: StoredImage) -> bool:
    """Write one sidecar; True when an existing one was merged."""
    existing = None
    if target.is_file():
        if target.stat().st_size > MAX_SIDECAR_BYTES:
            limit = MAX_SIDECAR_BYTES // 2**20
            raise SidecarError(f"the existing sidecar is over {limit} MiB; left as it is")
        existing = target.read_bytes()
    data = sidecar(point_id, payload, existing)
    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as tmp:
        tmp.write_bytes(data)
    return existing is not None
