"""Model factories for the Ray tests' workers. Ray pickles them by reference, so they
live in an importable module (not a test file); each runs in a worker process, where
the fakes of tests/fakes.py are registered for the life of that process."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from describe import registry
from describe.config import DescribeSettings
from describe.describer import Describer
from tests.fakes import FAKE_USE, FAKES, HashEmbedder

FAKE_SETTINGS = DescribeSettings(use=FAKE_USE, captioner="fake-caption")


def fake_describer(settings: DescribeSettings) -> Describer:
    with contextlib.suppress(ImportError):
        registry.names()  # the built-ins first, as fake_analyzers() does
    for cls in FAKES:
        registry.register(cls.name)(cls)
    return Describer(settings)


def hash_embedder(model: str, threads: int) -> HashEmbedder:
    return HashEmbedder()


class CrashOnce:
    """A fake describer whose worker process dies (os._exit, as a kill or an OOM would)
    in its first batch, once per `marker` file: Ray must restart it and retry the batch."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self, settings: DescribeSettings) -> Describer:
        describer = fake_describer(settings)
        analyze_batch = describer.analyze_batch

        def crash_first(*args: Any, **kwargs: Any) -> Any:
            try:
                with self.marker.open("x") as fh:  # exactly one worker wins the marker
                    fh.write(str(os.getpid()))
            except FileExistsError:
                return analyze_batch(*args, **kwargs)
            os._exit(1)

        describer.analyze_batch = crash_first  # type: ignore[method-assign]
        return describer
