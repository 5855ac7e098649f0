"""The long-lived objects one server process holds: built once in the lifespan,
shared by REST handlers and pages, closed on shutdown."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import Settings
from app.work import ReadPool, WorkLane
from catalog.curate import Curator, curated_encoder
from catalog.edits import EditStore
from catalog.embed import TextEmbedder
from catalog.factory import open_catalog
from catalog.families.groups import Families
from catalog.store.base import Store
from describe.describer import Describer
from describe.memory import release_freed_memory
from indexer.status import IndexStatus, StatusSource, StoreOnlyStatus
from indexer.watch import Watcher  # at run time: Litestar resolves these fields' types
from search.service import SearchService

if TYPE_CHECKING:
    from catalog.store.factory import StoreClaim

log = logging.getLogger(__name__)
# builds Services.curator once; here, not a field: Litestar's dependency injection
# converts every field of Services, and a lock is no type it can convert
_CURATOR_LOCK = threading.Lock()
_FAMILIES_LOCK = threading.Lock()  # builds Services.families once, for the same reason


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
    _curator: Curator | None = field(default=None, init=False, repr=False)
    _families: Families | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # images people hid leave every search; resolved at the first search, by when the
        # watcher (whose indexer keeps the families) is in place
        self.search.hidden = lambda: self.families.hidden_ids()

    @property
    def curator(self) -> Curator:
        """People's edits (catalog/curate.py). With a folder watched it shares the indexer's
        EditStore, whose lock orders their writes, but has an encoder of its own (an
        encoder's label cache is for one thread)."""
        with _CURATOR_LOCK:
            if self._curator is None:
                indexer = self.watcher.indexer if self.watcher is not None else None
                edits = indexer.edits if indexer is not None else EditStore(self.settings.data_dir)
                self._curator = Curator(self.store, curated_encoder(self.embedder, edits))
            return self._curator

    @property
    def families(self) -> Families:
        """Near-duplicates and generation variants (catalog/families/). With a folder watched,
        the indexer's, which places each image it writes; without, one of its own, worked out
        from the store in the background."""
        with _FAMILIES_LOCK:
            if self._families is None:
                if self.watcher is not None:
                    self._families = self.watcher.indexer.families
                else:
                    self._families = Families(self.store, self.settings.data_dir)
                    self._families.sync_in_background()
            return self._families

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
        # requests first (an edit still running writes the EditStore the watcher closes)
        self.lane.shutdown()
        self.reads.shutdown()
        if self.watcher is not None:
            self.watcher.stop()
        if self._curator is not None and self.watcher is None:  # the watcher closes its own
            self._curator.edits.close()
        if self._families is not None and self.watcher is None:
            self._families.close()
        self.store.close()


def build_services(settings: Settings, claim: StoreClaim | None = None) -> Services:
    """Load models and open the store. Slow (seconds): call it once, off the event loop.
    `claim`: the store's lock, taken before (see claim_catalog_store)."""
    catalog = open_catalog(settings.catalog, claim)
    services = Services(
        settings=settings,
        describer=catalog.describer,
        embedder=catalog.embedder,
        store=catalog.store,
        search=SearchService.over(catalog),
        lane=WorkLane(),
    )
    if settings.watch:
        services.watcher = Watcher.create(
            Path(settings.watch), Path(settings.data_dir), catalog.describer, catalog.embedder, catalog.store
        )
        services.watcher.start()
    release_freed_memory()  # what the imports and model parsing freed, before the server idles
    return services
