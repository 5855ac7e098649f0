"""The long-lived objects one server process holds: built once in the lifespan,
shared by REST handlers and pages, closed on shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.work import WorkLane
from describe.describer import Describer
from indexer.embed import Embedder, TextEmbedder
from indexer.store.base import Store
from search.service import SearchService

if TYPE_CHECKING:
    from indexer.store.factory import StoreClaim

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    describer: Describer
    embedder: TextEmbedder
    store: Store
    search: SearchService
    lane: WorkLane
    watcher: Any = None  # indexer.watch.Watcher when a folder is watched

    @property
    def watch_root(self) -> Path | None:
        return Path(self.settings.watch) if self.settings.watch else None

    def index_status(self) -> dict[str, Any]:
        """Indexed / pending / failed counts and recent failures; shared by the REST
        API and the pages' status bar."""
        if self.watcher is None:
            count = self.store.count()
            return {
                # no state table without a watched folder: the store's points are all we know
                "indexed": count,
                "images": count,
                "pending": 0,
                "failed": 0,
                "failures": [],
                "watching": None,
            }
        status: dict[str, Any] = self.watcher.status()
        return status

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.lane.shutdown()
        self.store.close()


def open_catalog_store(settings: Settings, embedder: TextEmbedder, claim: StoreClaim | None = None) -> Store:
    """The configured store, sized for the embedder. A store built with another
    embedding size, or by an older imgdesc without the focus/labels vectors, is
    recreated; the indexer then fills it again from the folder (its points are gone)."""
    from indexer.store.base import DimensionMismatchError, SchemaChangedError
    from indexer.store.factory import open_store

    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    args: dict[str, Any] = {"url": settings.qdrant_url, "api_key": settings.qdrant_api_key, "claim": claim}
    try:
        return open_store(data_dir, embedder.dim, **args)
    except DimensionMismatchError as exc:
        log.warning("%s; recreating the store", exc.message)
    except SchemaChangedError:
        log.warning(
            "the store was created by an older imgdesc without the focus/labels vectors; rebuilding it"
        )
    return open_store(data_dir, embedder.dim, recreate=True, **args)


def build_services(settings: Settings, claim: StoreClaim | None = None) -> Services:
    """Load models and open the store. Slow (seconds): call it once, off the event loop.
    `claim`: the store's lock, taken before (see claim_catalog_store)."""
    describer = Describer(settings.describe)
    describer.load()
    embedder = Embedder(settings.embedding_model, threads=settings.describe.threads)
    embedder.load()
    data_dir = Path(settings.data_dir)
    store = open_catalog_store(settings, embedder, claim)
    services = Services(
        settings=settings,
        describer=describer,
        embedder=embedder,
        store=store,
        search=SearchService(store, embedder),
        lane=WorkLane(),
    )
    if settings.watch:
        from indexer.watch import Watcher

        services.watcher = Watcher.create(Path(settings.watch), data_dir, describer, embedder, store)
        services.watcher.start()
    return services
