"""Disk space for the catalog's data folder: when writing must stop, and how to tell a
write that failed for lack of space from one that failed for a reason of its own.

A full disk is a state of the catalog, not a failure of the file being indexed: the
indexer pauses, every file waiting stays pending, and indexing resumes once space is
back (indexer/watch.py polls `DiskGuard.check`).

What the embedded store needs is not what `du` shows. Qdrant Edge keeps vectors, payload
and indexes in memory-mapped files it creates at their full size and fills in place: an
empty store is 252 MB "on paper" and 0.4 MB on ext4, where the holes cost nothing until
written. On a RAM-backed file system (tmpfs) a hole is allocated as soon as the mapping
touches it, reads included, and loading the store touches its pages: with less free space
than its holes the process dies with SIGBUS, not an error (measured: 200 points, 24 MB on
tmpfs, killed on load with 64 MB free; its holes were 230 MB). So on such a file system
the store's holes count as space it needs before it is opened or written.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

from describe.errors import ImgdescError

MB = 1024 * 1024
# Free space kept back for one batch's writes: 32 thumbnails (≈ 30 KB each), the journal's
# rows, and the store's flush, whose segments grow a few MB at a time on ext4.
RESERVE_BYTES = 64 * MB
# Indexing resumes only with this much more than the reserve, so a disk at the edge does
# not flap between full and not full on every batch.
RESUME_MARGIN = 16 * MB
# File systems whose files live in memory: a touched hole of a mapped file is allocated.
MEMORY_FILE_SYSTEMS = frozenset({"tmpfs", "ramfs", "shm", "hugetlbfs"})
# qdrant-edge and SQLite report a full disk in words, not errno
_FULL_WORDS = ("no space left on device", "database or disk is full", "disk quota exceeded", "os error 28")


class DiskState(msgspec.Struct, frozen=True):
    """What health and status say while the disk is full."""

    path: str  # the data folder
    free_bytes: int
    needed_bytes: int  # free space the catalog waits for before writing again
    since: str = ""  # ISO 8601, UTC


class DiskFullError(ImgdescError):
    """Writing stopped: the data folder's disk has less free space than a write needs."""

    status_code = 507

    def __init__(self, state: DiskState) -> None:
        super().__init__(
            f"the disk holding {state.path} is full ({state.free_bytes / MB:.1f} MB free, "
            f"{state.needed_bytes / MB:.0f} MB needed): indexing is paused and resumes by itself "
            "once space is freed; search answers from what is stored",
            {"free_bytes": state.free_bytes, "needed_bytes": state.needed_bytes},
        )
        self.state = state


def is_out_of_space(exc: BaseException | None) -> bool:
    """An error (or one it was raised from) that says the disk or quota is full."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DiskFullError):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(words in str(exc).lower() for words in _FULL_WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def file_system_type(path: Path) -> str:
    """The type of the file system holding `path`, from /proc/mounts ("" when unknown)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return ""
    target, best, found = os.path.realpath(path), -1, ""
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, found = len(point), fields[2]
    return found


def holes(folder: Path) -> int:
    """Bytes of `folder`'s files that are size on paper but not allocated (sparse holes)."""
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            try:
                st = (Path(dirpath) / name).stat()
            except OSError:
                continue
            total += max(0, st.st_size - st.st_blocks * 512)
    return total


@dataclass
class DiskGuard:
    """Answers "may the catalog write now?" for one data folder."""

    data_dir: Path
    reserve: int = RESERVE_BYTES
    # the embedded store's folder, whose holes count on a RAM-backed file system
    store_dir: Path | None = None
    _memory_fs: bool | None = None
    _holes_at: float = 0.0
    _holes: int = 0

    @property
    def memory_fs(self) -> bool:
        if self._memory_fs is None:
            self._memory_fs = file_system_type(self.data_dir) in MEMORY_FILE_SYSTEMS
        return self._memory_fs

    def free(self) -> int:
        return shutil.disk_usage(self.data_dir).free

    def needed(self) -> int:
        """Free space below which nothing is written."""
        if not self.memory_fs or self.store_dir is None:
            return self.reserve
        now = time.monotonic()
        if now - self._holes_at > 2.0:  # a walk of the store's few hundred files, at most every 2 s
            self._holes, self._holes_at = holes(self.store_dir), now
        return self.reserve + self._holes

    def check(self, margin: int = 0) -> DiskState | None:
        """None when there is room to write (with `margin` more than needed), else the state."""
        free, needed = self.free(), self.needed()
        if free >= needed + margin:
            return None
        return DiskState(str(self.data_dir), free, needed + margin)

    def now(self) -> DiskState:
        """The state as it is, full or not (for an error that already said "full")."""
        return DiskState(str(self.data_dir), self.free(), self.needed())

    def ensure(self) -> None:
        """Raise DiskFullError when a write now could run out of space."""
        state = self.check()
        if state is not None:
            raise DiskFullError(state)


def sparse_copy(source: Path, target: Path) -> None:
    """Copy a folder, files' holes kept as holes (SEEK_DATA/SEEK_HOLE): the store's files
    are mostly holes, and a plain copy would write them all out."""
    for dirpath, _, names in os.walk(source):
        here = target / Path(dirpath).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in names:
            _copy_file(Path(dirpath) / name, here / name)


def _copy_file(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        size = os.fstat(src.fileno()).st_size
        offset = 0
        while offset < size:
            try:
                data = os.lseek(src.fileno(), offset, os.SEEK_DATA)
            except OSError:  # no data after offset (ENXIO): the rest is a hole
                break
            hole = os.lseek(src.fileno(), data, os.SEEK_HOLE)
            src.seek(data)
            dst.seek(data)
            left = hole - data
            while left > 0:
                chunk = src.read(min(left, 1 << 20))
                if not chunk:
                    break
                dst.write(chunk)
                left -= len(chunk)
            offset = hole
        dst.truncate(size)
