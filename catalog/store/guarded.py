"""The store every way in holds: one of the adapters behind a wrapper that can swap it
for a rebuilt one, and that turns a read the storage cannot answer into a clear 503.

When an embedded store's files are damaged, Qdrant Edge raises plain Exceptions
("Failed to decompress LZ4 value …") from the reads that touch the damage. Those became
500s while health said "ok". Here they become `StoreReadError` (503, naming the repair),
and the first one is reported (`on_damage`), so the indexer checks the store and, when it
is damaged, moves it aside and rebuilds it (indexer/repair.py) while search goes on
answering from what is rebuilt so far (`swap`).
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from catalog.space import DiskFullError, DiskState
from catalog.store.base import ImagePoint, SparseVector, Store, StoredImage
from describe.errors import ImgdescError

log = logging.getLogger(__name__)
T = TypeVar("T")


class StoreReadError(ImgdescError):
    """The store could not answer a read (its files are damaged, or a server is down)."""

    status_code = 503


class GuardedStore:
    """A Store that delegates to `inner`, which `swap` replaces (a rebuilt store).
    `reopen`: opens a new, empty store at the same place once the damaged one is moved
    aside (None: this store cannot be rebuilt here, e.g. a Qdrant server's collection).
    `folder`: the embedded store's directory (None for a server)."""

    def __init__(
        self,
        inner: Store,
        *,
        reopen: Callable[[], Store] | None = None,
        folder: Path | None = None,
    ) -> None:
        self._inner = inner
        self.reopen = reopen
        self.folder = folder
        self.on_damage: Callable[[Exception], None] | None = None  # set by whoever can repair
        # set when start-up found too little space to load the store in place: `inner` is a
        # copy in a temporary folder (`copy`), searched but never written
        self.read_only: DiskState | None = None
        self.copy: Path | None = None
        self._lock = threading.Lock()

    @property
    def inner(self) -> Store:
        return self._inner

    def swap(self, new: Store) -> Store:
        """Serve `new` from now on; returns the old store (the caller closes it)."""
        with self._lock:
            old, self._inner = self._inner, new
        return old

    def open_in_place(self) -> None:
        """Space is back: serve the store from its own folder again, drop the copy."""
        assert self.reopen is not None
        self.swap(self.reopen()).close()
        self.read_only = None
        if self.copy is not None:
            shutil.rmtree(self.copy, ignore_errors=True)
            self.copy = None

    def _writable(self) -> None:
        if self.read_only is not None:
            raise DiskFullError(self.read_only)

    def _read(self, what: str, call: Callable[[Store], T]) -> T:
        try:
            return call(self._inner)
        except (ImgdescError, KeyError, ValueError, TypeError):
            raise  # ours, or a bad argument: not the storage's fault
        except Exception as exc:
            raise self._failed(what, exc) from exc

    def _failed(self, what: str, exc: Exception) -> StoreReadError:
        reason = " ".join(str(exc).split())[:200]
        log.error("the store could not %s: %s", what, reason)
        if self.on_damage is not None:
            self.on_damage(exc)
            remedy = (
                "it is being checked, and if damaged moved aside and rebuilt from the journal and "
                "the files; search answers again as images are re-indexed"
            )
        elif self.reopen is not None:
            remedy = "restart imgdesc watching its folder (or run `imgdesc index`) to check and rebuild it"
        else:
            remedy = "check the Qdrant server"
        return StoreReadError(f"the image store could not {what} ({reason}); {remedy}", {"reason": reason})

    # -- writes: errors go to the caller as they are (the indexer tells a full disk apart)

    def upsert(self, points: Sequence[ImagePoint]) -> None:
        self._writable()
        self._inner.upsert(points)

    def set_paths(self, id: str, paths: list[str]) -> None:
        self._writable()
        self._inner.set_paths(id, paths)

    def delete(self, ids: Sequence[str]) -> None:
        self._writable()
        self._inner.delete(ids)

    def set_image_vectors(self, vectors: Sequence[tuple[str, list[float]]], model: str) -> None:
        self._writable()
        self._inner.set_image_vectors(vectors, model)

    def optimize(self) -> bool:
        return self._inner.optimize()

    def close(self) -> None:
        self._inner.close()
        if self.copy is not None:
            shutil.rmtree(self.copy, ignore_errors=True)

    # -- reads

    def get(self, id: str) -> StoredImage | None:
        return self._read("read an image", lambda s: s.get(id))

    def nearest(
        self,
        using: str,
        vector: list[float] | SparseVector,
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        return self._read("search", lambda s: s.nearest(using, vector, tags, limit, not_tags=not_tags))

    def nearest_views(
        self,
        queries: Sequence[tuple[str, list[float] | SparseVector]],
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[list[tuple[str, float]]]:
        return self._read("search", lambda s: s.nearest_views(queries, tags, limit, not_tags=not_tags))

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredImage]:
        return self._read("read images", lambda s: s.get_many(ids))

    def image_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        return self._read("read image vectors", lambda s: s.image_vectors(ids))

    def vectors(self, id: str) -> dict[str, list[float] | SparseVector]:
        return self._read("read vectors", lambda s: s.vectors(id))

    def facets(
        self, tags: Sequence[str] = (), limit: int = 50, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, int]]:
        return self._read("count tags", lambda s: s.facets(tags, limit, not_tags=not_tags))

    def count(self, tags: Sequence[str] = (), *, not_tags: Sequence[str] = ()) -> int:
        return self._read("count images", lambda s: s.count(tags, not_tags=not_tags))

    def latest(
        self, tags: Sequence[str] = (), limit: int = 20, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, StoredImage]]:
        return self._read("list images", lambda s: s.latest(tags, limit, not_tags=not_tags))

    def scroll(self, batch: int = 256, tags: Sequence[str] = ()) -> Iterator[tuple[str, StoredImage]]:
        found = self._inner.scroll(batch, tags)
        # each page is a read of its own: a damaged one fails the way any other read does
        while (item := self._read("read images", lambda _: next(found, None))) is not None:
            yield item

    def verify(self, vector_every: int = 1) -> str | None:
        """What is damaged in the store (EdgeStore.verify), or None; a store that cannot
        tell (a Qdrant server's collection) says None."""
        check = getattr(self._inner, "verify", None)
        return check(vector_every=vector_every) if callable(check) else None
