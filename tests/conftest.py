"""Shared fixtures: real photos from scikit-image / scikit-learn, encoded as files."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from describe.render.profiles import ProfileSet

# No test ever fetches model weights, and a developer's own Hugging Face cache must not
# change what `auto` picks: every test (and every CLI subprocess, which inherits this)
# sees an empty cache and an offline hub. Tests that need a cache build one themselves.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="imgdesc-test-hf-")
os.environ.pop("HF_HUB_CACHE", None)
atexit.register(shutil.rmtree, os.environ["HF_HOME"], ignore_errors=True)
# Notices said once per machine (describe.analyzers.vlm.auto.first_notice) remember
# themselves in the user's cache folder: tests use their own, never the developer's.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="imgdesc-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)


def encode(array_or_image: np.ndarray | Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    from skimage import data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    return {
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "astronaut": data.astronaut(),
        "rocket": data.rocket(),
        "camera": data.camera(),
        "china": china,
        "flower": flower,
    }


@pytest.fixture()
def write_image(tmp_path: Path) -> Callable[..., Path]:
    def write(name: str, array: np.ndarray | Image.Image, fmt: str | None = None, **params: object) -> Path:
        path = tmp_path / name
        fmt = fmt or {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".gif": "GIF"}.get(path.suffix, "PNG")
        path.write_bytes(encode(array, fmt, **params))
        return path

    return write


@pytest.fixture(scope="session")
def profiles() -> ProfileSet:
    """The built-in profiles (loading validates every template)."""
    return ProfileSet.load()


@pytest.fixture()
def fakes() -> Iterator[None]:
    """The model-free fake analyzers (tests/fakes.py) registered for one test."""
    from tests.fakes import fake_analyzers

    with fake_analyzers():
        yield


@pytest.fixture()
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with no model weights and no network: an empty Hugging Face cache,
    HF_HUB_OFFLINE set, and no notices said yet. Returns HF_HOME."""
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # a machine that has said nothing yet
    return home
