"""What opening a catalog needs. Light on purpose: the app's settings build it
(Settings.catalog) on every CLI start, before any model is imported."""

from __future__ import annotations

import msgspec

from describe.config import DescribeSettings

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"  # catalog.embed.DEFAULT_MODEL


class CatalogSettings(msgspec.Struct, kw_only=True):
    data_dir: str = "data"
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    describe: DescribeSettings = msgspec.field(default_factory=DescribeSettings)
