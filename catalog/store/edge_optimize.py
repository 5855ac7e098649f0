"""Optimising the embedded store without stopping search.

Qdrant Edge's `optimize()` holds Python's GIL from start to end (measured: no other
thread of the process runs for the whole call; minutes at 100k points), so a server
that optimised in its indexer thread would stop answering for that long. Instead the
shard is copied next to itself, a child process optimises the copy, and the copy
takes the shard's place. Search reads the shard as it was meanwhile; writes wait (the
copy would miss them); the swap itself is a close, two renames and a load.

A crash part-way leaves `<shard>.optimizing` (deleted on the next try) or, during the
swap, `<shard>.replaced` holding the old files, which `recover()` moves back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import qdrant_edge as qe

from catalog.space import sparse_copy

_KEEP = {"imgdesc.lock"}  # stays in the shard's folder: the lock is held on this very file


_MOVING_IN = ".moving-in"


def work_dir(path: Path) -> Path:
    return path.with_name(f"{path.name}.optimizing")


def _replaced_dir(path: Path) -> Path:
    return path.with_name(f"{path.name}.replaced")


def optimize_copy(path: Path) -> bool:
    """Copy the (flushed, quiet) shard at `path` and optimise the copy in a child process;
    True when the copy changed and should take the shard's place (`swap_in`)."""
    work = work_dir(path)
    shutil.rmtree(work, ignore_errors=True)
    try:  # as much room again as the shard takes, for a while
        # holes kept as holes: Edge's files are mostly holes, and a plain copy writes them
        # out (an empty shard: 1 MB on disk, 252 MB copied with shutil.copytree)
        sparse_copy(path, work)
        for name in _KEEP:
            (work / name).unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # a full disk must not keep half a copy
        raise
    # the child finds this package where the parent found it, installed or not
    source = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "catalog.store.edge_optimize", str(work)],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode not in (0, 3):
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError(f"optimising a copy of the store failed: {done.stderr.strip()[-500:]}")
    if done.returncode == 3:  # nothing to optimise
        shutil.rmtree(work, ignore_errors=True)
        return False
    return True


def swap_in(path: Path) -> None:
    """Put the optimised copy in place of the shard's files (the shard must be closed).
    The old files go aside first; a marker says when all of them are, so that `recover`
    knows which of the files in the shard's folder are new."""
    work, replaced = work_dir(path), _replaced_dir(path)
    shutil.rmtree(replaced, ignore_errors=True)
    replaced.mkdir()
    for entry in list(path.iterdir()):
        if entry.name not in _KEEP:
            entry.rename(replaced / entry.name)
    (replaced / _MOVING_IN).touch()
    for entry in list(work.iterdir()):
        entry.rename(path / entry.name)
    work.rmdir()
    done = path.with_name(f"{path.name}.replaced-done")
    replaced.rename(done)  # one atomic step from "old files kept" to "new files in place"
    shutil.rmtree(done)


def recover(path: Path) -> None:
    """Undo a swap a crash interrupted (the old files go back, the copy is dropped), and
    drop what a finished one left."""
    replaced = _replaced_dir(path)
    if replaced.is_dir():
        if (replaced / _MOVING_IN).exists():  # every old file is aside: the rest are new
            for entry in list(path.iterdir()):
                if entry.name not in _KEEP:
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            (replaced / _MOVING_IN).unlink()
        for entry in list(replaced.iterdir()):
            entry.rename(path / entry.name)
        replaced.rmdir()
    shutil.rmtree(path.with_name(f"{path.name}.replaced-done"), ignore_errors=True)
    shutil.rmtree(work_dir(path), ignore_errors=True)


def _main(work: str) -> int:
    shard = qe.EdgeShard.load(work)  # with the config recorded in the copy
    try:
        changed = shard.optimize()
        shard.flush()
    finally:
        shard.close()
    return 0 if changed else 3


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
