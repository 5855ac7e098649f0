"""The one place the catalog is assembled: the describer, the text embedder, the image
view's encoder (the SigLIP 2 tagger, when the settings enable it) and the store sized
for them. The server, `imgdesc index`, `imgdesc search`, `imgdesc eval`, the benches
and tools/ all open it here, so what is measured is what is served: with the tagger on,
every one of them ranks with the image view, and every store they open has room for
its vectors.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.embed import Embedder, TextEmbedder
from catalog.settings import CatalogSettings
from catalog.space import DiskState
from describe.describer import Describer
from describe.errors import ImgdescError

if TYPE_CHECKING:
    from catalog.store.base import Store
    from catalog.store.factory import StoreClaim
    from catalog.store.guarded import GuardedStore
    from describe.analyzers.siglip.tagger import SiglipTagger

log = logging.getLogger(__name__)


@dataclass
class Models:
    """The catalog's models, resident once loaded."""

    describer: Describer
    embedder: TextEmbedder
    # the image view: the store's image vectors and search's query encoder; None unless
    # the settings enable the SigLIP 2 tagger (use.zero_shot) and its weights loaded
    tagger: SiglipTagger | None

    @property
    def image_size(self) -> int | None:
        return self.tagger.dim if self.tagger else None


@dataclass
class Catalog:
    """The models and the store they fill; search/ ranks over it (SearchService.over)."""

    models: Models
    store: Store

    @property
    def describer(self) -> Describer:
        return self.models.describer

    @property
    def embedder(self) -> TextEmbedder:
        return self.models.embedder

    @property
    def tagger(self) -> SiglipTagger | None:
        return self.models.tagger

    def close(self) -> None:
        self.store.close()


EMBED_THREADS = 1


def load_models(settings: CatalogSettings, describe: bool = True) -> Models:
    """Load the models now. `describe=False` for search alone: the describer's analyzers
    stay unloaded (the image view's tagger still loads, search needs its text tower)."""
    describer = Describer(settings.describe)
    if describe:
        describer.load()
    # One thread, whatever the describer has: a query or an image's two documents are too
    # short for a second to help (query p50 2.4 ms on one, 2.6 on two), and the indexer
    # embeds beside the describing (indexer/stages.py), where a second thread only fights
    # the describer's own for the cores.
    embedder = Embedder(settings.embedding_model, threads=EMBED_THREADS)
    embedder.load()
    return Models(describer, embedder, active_tagger(describer))


def active_tagger(describer: Describer) -> SiglipTagger | None:
    """The describer's SigLIP 2 tagger when the settings enable it and its weights loaded:
    the store's image vectors (its `dim`) and search's query encoder come from it."""
    from describe.analyzers.siglip.tagger import SiglipTagger

    found = describer.analyzer(describer.settings.use.get("zero_shot", "zero_shot"), "zero_shot")
    found.load()
    return found if isinstance(found, SiglipTagger) and found.available else None


def open_store(
    settings: CatalogSettings, models: Models, claim: StoreClaim | None = None, rebuild: bool = True
) -> GuardedStore:
    """The configured store, sized for the models, behind a GuardedStore (a read the
    storage cannot answer is a 503, and a damaged embedded store can be swapped for a
    rebuilt one). With `rebuild`, a store built with another embedding size, or by an
    older imgdesc without the focus/labels vectors, is recreated, and an embedded store
    that cannot be loaded at all (damaged files, a repair killed half-way) is moved aside
    to data/qdrant.damaged-<time> and started anew: the indexer fills it again from the
    folder. Without `rebuild`, that is the store's error (a search must never drop points).
    `claim`: the embedded store's lock, taken before the models loaded (claim_store)."""
    from catalog.store.base import DimensionMismatchError, SchemaChangedError
    from catalog.store.factory import move_aside
    from catalog.store.factory import open_store as open_configured
    from catalog.store.guarded import GuardedStore

    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    folder = None if settings.qdrant_url else data_dir / "qdrant"

    def opened(recreate: bool = False, fresh: bool = False) -> Store:
        # `fresh`: a new folder after the old one moved aside, with its own lock
        return open_configured(
            data_dir, models.embedder.dim, url=settings.qdrant_url, api_key=settings.qdrant_api_key,
            recreate=recreate, claim=None if fresh else claim, image_size=models.image_size,
        )  # fmt: skip

    def guarded(store: Store) -> GuardedStore:
        return GuardedStore(store, reopen=(lambda: opened(fresh=True)) if folder else None, folder=folder)

    if not rebuild:
        return guarded(opened())
    if folder is not None and (too_full := _too_full_to_load(data_dir, folder)) is not None:
        return _read_only_copy(guarded, folder, too_full, models)
    try:
        return guarded(opened())
    except DimensionMismatchError as exc:
        log.warning("%s; recreating the store", exc.message)
    except SchemaChangedError:
        log.warning("the store was made by an older imgdesc without the focus/labels vectors; rebuilding it")
    except ImgdescError:
        raise  # in use by another process, a server that refuses: not damage
    except Exception as exc:
        if folder is None:
            raise
        aside = move_aside(folder)
        log.error("the store at %s cannot be loaded (%s); moved it to %s, rebuilding it", folder, exc, aside)
        return guarded(opened(fresh=True))
    return guarded(opened(recreate=True))


def _too_full_to_load(data_dir: Path, folder: Path) -> DiskState | None:
    """On a RAM-backed file system, loading the store touches its holes, and with less free
    space than they need the process dies of SIGBUS (catalog/space.py): the state then."""
    from catalog.space import MB, DiskGuard, holes

    guard = DiskGuard(data_dir, store_dir=folder)
    if not guard.memory_fs or not folder.is_dir():
        return None
    need = holes(folder) + 8 * MB
    return None if guard.free() >= need else DiskState(str(data_dir), guard.free(), need)


def _read_only_copy(
    guarded: Callable[[Store], GuardedStore],
    folder: Path,
    full: DiskState,
    models: Models,
) -> GuardedStore:
    """Serve search from a copy of the store in a temporary folder on another file system
    (its holes stay holes), never written; the indexer waits for space, then loads the
    store in place (GuardedStore.open_in_place). Where no such folder has room, the
    start-up fails saying the disk is full, rather than dying."""
    import tempfile

    from catalog.space import DiskFullError, sparse_copy
    from catalog.store.edge import LOCK_FILE
    from catalog.store.factory import open_store as open_configured

    parent = Path(tempfile.gettempdir())
    if parent.stat().st_dev == folder.stat().st_dev:
        raise DiskFullError(full)
    copy = Path(tempfile.mkdtemp(prefix="imgdesc-read-only-", dir=parent))
    try:
        sparse_copy(folder, copy / "qdrant")
        (copy / "qdrant" / LOCK_FILE).unlink(missing_ok=True)
        inner = open_configured(copy, models.embedder.dim, image_size=models.image_size)
    except Exception as exc:
        shutil.rmtree(copy, ignore_errors=True)
        raise DiskFullError(full) from exc
    # the caller's claim is not handed over: it is released when its block ends, and the
    # store in place takes its own lock once it is loaded (GuardedStore.open_in_place)
    store = guarded(inner)
    store.read_only, store.copy = full, copy
    log.error("%s; searching a read-only copy of the store in %s", DiskFullError(full).message, copy)
    return store


def open_catalog(
    settings: CatalogSettings, claim: StoreClaim | None = None, search_only: bool = False
) -> Catalog:
    """Models and store, opened together. Slow (seconds): once per process.
    `search_only`: the describer's models stay unloaded, and a store that does not fit
    the models is an error rather than rebuilt."""
    models = load_models(settings, describe=not search_only)
    return Catalog(models, open_store(settings, models, claim, rebuild=not search_only))
