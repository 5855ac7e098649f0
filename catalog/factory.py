"""The one place the catalog is assembled: the describer, the text embedder, the image
view's encoder (the SigLIP 2 tagger, when the settings enable it) and the store sized
for them. The server, `imgdesc index`, `imgdesc search`, `imgdesc eval`, the benches
and tools/ all open it here, so what is measured is what is served: with the tagger on,
every one of them ranks with the image view, and every store they open has room for
its vectors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.embed import Embedder, TextEmbedder
from catalog.settings import CatalogSettings
from describe.describer import Describer

if TYPE_CHECKING:
    from catalog.store.base import Store
    from catalog.store.factory import StoreClaim
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


def load_models(settings: CatalogSettings, describe: bool = True) -> Models:
    """Load the models now. `describe=False` for search alone: the describer's analyzers
    stay unloaded (the image view's tagger still loads, search needs its text tower)."""
    describer = Describer(settings.describe)
    if describe:
        describer.load()
    embedder = Embedder(settings.embedding_model, threads=settings.describe.threads)
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
) -> Store:
    """The configured store, sized for the models. With `rebuild`, a store built with
    another embedding size, or by an older imgdesc without the focus/labels vectors, is
    recreated, and the indexer fills it again from the folder (its points are gone);
    without, that is the store's error (a search must never drop the points).
    `claim`: the embedded store's lock, taken before the models loaded (claim_store)."""
    from catalog.store.base import DimensionMismatchError, SchemaChangedError
    from catalog.store.factory import open_store as open_configured

    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)

    def opened(recreate: bool = False) -> Store:
        return open_configured(
            data_dir, models.embedder.dim, url=settings.qdrant_url, api_key=settings.qdrant_api_key,
            recreate=recreate, claim=claim, image_size=models.image_size,
        )  # fmt: skip

    if not rebuild:
        return opened()
    try:
        return opened()
    except DimensionMismatchError as exc:
        log.warning("%s; recreating the store", exc.message)
    except SchemaChangedError:
        log.warning("the store was made by an older imgdesc without the focus/labels vectors; rebuilding it")
    return opened(recreate=True)


def open_catalog(
    settings: CatalogSettings, claim: StoreClaim | None = None, search_only: bool = False
) -> Catalog:
    """Models and store, opened together. Slow (seconds): once per process.
    `search_only`: the describer's models stay unloaded, and a store that does not fit
    the models is an error rather than rebuilt."""
    models = load_models(settings, describe=not search_only)
    return Catalog(models, open_store(settings, models, claim, rebuild=not search_only))
