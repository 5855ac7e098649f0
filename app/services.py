"""The long-lived objects one server process holds: built once in the lifespan,
shared by REST handlers and pages, closed on shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.work import ReadPool, WorkLane
from describe.describer import Describer
from describe.memory import release_freed_memory
from indexer.embed import Embedder, TextEmbedder
from indexer.status import IndexStatus, StatusSource, StoreOnlyStatus
from indexer.store.base import Store
from indexer.watch import Watcher  # at run time: Litestar resolves these fields' types
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
    lane: WorkLane  # model inference: describing uploads (bounded, 503 when full)
    watcher: Watcher | None = None  # when a folder is watched
    reads: ReadPool = field(default_factory=ReadPool)  # search, store reads, status

    @property
    def watch_root(self) -> Path | None:
        return Path(self.settings.watch) if self.settings.watch else None

    @property
    def status_source(self) -> StatusSource:
        return self.watcher if self.watcher is not None else StoreOnlyStatus(self.store)

    def index_status(self) -> IndexStatus:
        """Indexed / pending / failed counts and recent failures; shared by the REST
        API and the pages' status bar. Blocking (SQLite or the store): call it on
        `reads` from a handler."""
        return self.status_source.status()

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.lane.shutdown()
        self.reads.shutdown()
        self.store.close()


def open_catalog_store(
    settings: Settings, embedder: TextEmbedder, claim: StoreClaim | None = None, image_size: int | None = None
) -> Store:
    """The configured store, sized for the embedder. A store built with another
    embedding size, or by an older imgdesc without the focus/labels vectors, is
    recreated; the indexer then fills it again from the folder (its points are gone)."""
    from indexer.store.base import DimensionMismatchError, SchemaChangedError
    from indexer.store.factory import open_store

    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    args: dict[str, Any] = {
        "url": settings.qdrant_url,
        "api_key": settings.qdrant_api_key,
        "claim": claim,
        "image_size": image_size,  # a SigLIP tagger's image vectors, when one is active
    }
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
    from describe.analyzers.siglip.tagger import active_tagger

    describer = Describer(settings.describe)
    describer.load()
    embedder = Embedder(settings.embedding_model, threads=settings.describe.threads)
    embedder.load()
    data_dir = Path(settings.data_dir)
    # None unless settings enable the SigLIP 2 tagger (use.zero_shot) and its weights loaded
    tagger = active_tagger(describer)
    store = open_catalog_store(settings, embedder, claim, image_size=tagger.dim if tagger else None)
    services = Services(
        settings=settings,
        describer=describer,
        embedder=embedder,
        store=store,
        search=SearchService(store, embedder, image_query=tagger),
        lane=WorkLane(),
    )
    if settings.watch:
        services.watcher = Watcher.create(Path(settings.watch), data_dir, describer, embedder, store)
        services.watcher.start()
    release_freed_memory()  # what the imports and model parsing freed, before the server idles
    return services
