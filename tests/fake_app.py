"""The app with the model-free fakes (tests/fakes.py) behind a real watcher: what
the page, contract and OpenAPI tests run against, in about a second."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import TestClient

from app.config import Settings, load_settings
from app.server import create_app
from app.services import Services
from app.work import WorkLane
from catalog.store.base import Store
from describe.describer import Describer
from indexer.watch import Watcher
from search.service import SearchService
from tests.fakes import FAKE_USE, FakeStore, HashEmbedder
from tests.waiting import wait_for

__all__ = ["BASE_URL", "fake_build", "wait_for"]

BASE_URL = "http://127.0.0.1:8000"


def fake_build(
    images: Path | None,
    embedder: Callable[[], HashEmbedder] = HashEmbedder,
    store: Callable[[Settings], Store] = lambda _: FakeStore(),
) -> Callable[[Settings], Services]:
    """Services with the fake describer, embedder and store; a watcher when `images`.
    `embedder`, `store`: made anew for each build (a restart), e.g. a real embedded store."""

    def build(settings: Settings) -> Services:
        # the fakes in place of the models, with the settings' limits and profiles
        fakes = msgspec.structs.replace(settings.describe, use=FAKE_USE, captioner="fake-caption")
        describer, text, stored = Describer(fakes), embedder(), store(settings)
        services = Services(
            settings=settings,
            describer=describer,
            embedder=text,
            store=stored,
            search=SearchService(stored, text),
            lane=WorkLane(),
        )
        if images is not None:
            services.watcher = Watcher.create(
                images, settings.data_dir, describer, text, stored, stable_seconds=0.05
            )
            services.watcher.start()
        return services

    return build


@contextlib.contextmanager
def fake_site(base: Path, images: Path | None = None, **settings: Any) -> Iterator[TestClient]:
    """A ready app (models "loaded") on BASE_URL; call inside fakes.fake_analyzers()."""
    overrides = {"watch": images and str(images), "data_dir": str(base / "data"), **settings}
    app = create_app(load_settings(overrides, environ={}), fake_build(images))
    with TestClient(app, base_url=BASE_URL) as client:
        wait_for(lambda: client.get("/api/health").status_code == 200)
        yield client


@contextlib.contextmanager
def loading_site(base: Path) -> Iterator[tuple[TestClient, threading.Event]]:
    """An app whose start-up is still loading models until the test sets the event;
    the load then fails (nothing to load), and the event is set on exit either way."""
    gate = threading.Event()

    def slow(settings: Settings) -> Services:
        gate.wait(10)
        raise RuntimeError("stopped by the test")

    settings = load_settings({"watch": None, "data_dir": str(base / "data")}, environ={})
    try:
        with TestClient(create_app(settings, slow), base_url=BASE_URL) as client:
            yield client, gate
    finally:
        gate.set()
