"""What the job reads: a local folder or an object-store prefix (s3://, gs://, …),
through pyarrow's filesystems, which take credentials from the usual environment
(AWS_* variables or ~/.aws, GOOGLE_APPLICATION_CREDENTIALS, instance roles)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from pyarrow import fs as pafs

from describe.errors import ConfigError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """A folder in a filesystem; picklable, so tasks and actors get it as an argument."""

    filesystem: pafs.FileSystem
    root: str  # the folder, as the filesystem names it, without a trailing slash
    local: bool

    def full(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def read(self, rel: str) -> bytes:
        with self.filesystem.open_input_stream(self.full(rel)) as stream:
            return bytes(stream.read())

    def sha256(self, rel: str) -> str:
        digest = hashlib.sha256()
        with self.filesystem.open_input_stream(self.full(rel)) as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()


def open_source(source: str | Path) -> Source:
    """A folder path or a URI; a clear one-line error for one that cannot be used."""
    text = str(source)
    if "://" not in text:
        root = os.path.abspath(text)  # noqa: PTH100 - a link inside keeps its own name, as in the indexer
        if not Path(root).is_dir():
            raise ConfigError(f"{text}: not a folder")
        return Source(pafs.LocalFileSystem(), root, local=True)
    try:
        filesystem, root = pafs.FileSystem.from_uri(text)
        found = filesystem.get_file_info(root)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ConfigError(f"{text}: cannot open ({' '.join(str(exc).split())})") from None
    if found.type != pafs.FileType.Directory:
        raise ConfigError(f"{text}: no such folder or prefix")
    return Source(filesystem, root.rstrip("/"), local=isinstance(filesystem, pafs.LocalFileSystem))


def list_files(source: Source) -> list[tuple[str, int]]:
    """(relative path, size) of every file under the source, skipping what the local
    indexer skips: hidden files and folders, temp files, and links out of the folder."""
    from indexer.pipeline import is_ignored, resolves_within  # see hash_batch

    selector = pafs.FileSelector(source.root, recursive=True)
    resolved_root = Path(source.root).resolve() if source.local else None
    files = []
    for info in source.filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        rel = info.path[len(source.root) + 1 :]
        if is_ignored(rel):
            continue
        if resolved_root is not None and not resolves_within(Path(info.path), resolved_root):
            continue
        files.append((rel, int(info.size or 0)))
    return sorted(files)


def hash_batch(batch: dict[str, np.ndarray], source: Source) -> dict[str, Any]:
    """A Ray Data batch of {path, size} → {path, size, sha256, error}; a file that
    cannot be read gets its reason instead of a hash, and the batch goes on."""
    hashes, errors = [], []
    # indexer.pipeline is imported only on an error: it pulls in the describe core,
    # seconds of start-up for each Ray worker that only hashes
    for rel in batch["path"]:
        try:
            hashes.append(source.sha256(str(rel)))
            errors.append("")
        except (OSError, pa.ArrowException) as exc:
            from indexer.pipeline import failure_reason

            hashes.append("")
            errors.append(failure_reason(exc, source.full(str(rel)), str(rel)))
    return {"path": batch["path"], "size": batch["size"], "sha256": hashes, "error": errors}
