"""Start-up as a user meets it (issue 12, item 2; issue 13's read-only catalog): the
default path — `imgdesc serve` through describing, searching and indexing, and the
`describe`, `index` and `search` commands — never imports torch, transformers or
sentence-transformers; a server with no watched folder serves a catalog another
process wrote and says which images it cannot show."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from litestar.testing import TestClient

from app.config import load_settings
from app.server import create_app
from tests import waiting
from tests.conftest import encode

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "sentence_transformers")
BASE_URL = "http://127.0.0.1:8000"  # the app answers to loopback names only (app/guards.py)

# The server, in a fresh interpreter: started as `imgdesc serve` builds it (the default
# `auto` captioner, which finds no VLM weights offline and uses classic), used the three
# ways the default path is used, then asked what it imported.
SERVER = """
import json, shutil, sys, time
from pathlib import Path
from litestar.testing import TestClient
from app.config import load_settings
from app.server import create_app

watch, data, image, out = map(Path, sys.argv[1:5])
heavy_names = json.loads(sys.argv[5])

def wait_for(check, what, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"not {what} within {timeout} s")
        time.sleep(0.1)

settings = load_settings({"watch": str(watch), "data_dir": str(data), "captioner": "auto"}, environ={})
with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
    wait_for(lambda: client.get("/api/health").status_code == 200, "ready")
    health = client.get("/api/health").json()
    described = client.post("/api/describe", files={"image": ("cat.jpg", image.read_bytes(), "image/jpeg")})
    shutil.copy(image, watch / "cat.jpg")
    wait_for(lambda: client.get("/api/index/status").json()["indexed"] == 1, "indexed")
    hits = client.get("/api/search", params={"q": "cat"}).json()["hits"]
heavy = [m for m in heavy_names if m in sys.modules]
out.write_text(json.dumps({"captioner": health["captioner"], "described": described.status_code,
                          "hits": [h["path"] for h in hits], "heavy": heavy}))
"""

# A CLI command run as the console script runs it, reporting its modules at exit
# (after Typer's SystemExit), to the file named by the first argument.
CLI = """
import atexit, json, sys
out, heavy_names, sys.argv = sys.argv[1], json.loads(sys.argv[2]), ["imgdesc", *sys.argv[3:]]
atexit.register(lambda: open(out, "w").write(json.dumps([m for m in heavy_names if m in sys.modules])))
from app.cli import main
main()
"""


def _offline_env(tmp: Path) -> dict[str, str]:
    """No Hub, an empty Hugging Face cache, no IMGDESC_* from the caller. The embedder's
    ONNX export stays in the user's cache: made once (in a child process), then reused."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMGDESC_", "HF_"))}
    return {**env, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp / "hf-home")}


@pytest.fixture()
def cat_jpg(tmp_path: Path, photos: dict[str, np.ndarray]) -> Path:
    path = tmp_path / "images" / "cat.jpg"
    path.parent.mkdir()
    path.write_bytes(encode(photos["chelsea"], "JPEG"))
    return path


def test_the_server_describes_indexes_and_searches_without_torch(tmp_path: Path, cat_jpg: Path) -> None:
    watch, out = tmp_path / "watch", tmp_path / "server.json"
    watch.mkdir()
    argv = [sys.executable, "-c", SERVER, str(watch), str(tmp_path / "data"), str(cat_jpg), str(out)]
    argv.append(json.dumps(HEAVY))
    done = subprocess.run(
        argv, cwd=ROOT, env=_offline_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result == {"captioner": "classic", "described": 200, "hits": ["cat.jpg"], "heavy": []}


def _cli(tmp_path: Path, *args: str) -> list[str]:
    """The heavy modules `imgdesc *args` had imported when it exited (successfully)."""
    out = tmp_path / f"{args[0]}-modules.json"
    argv = [sys.executable, "-c", CLI, str(out), json.dumps(HEAVY), *args]
    done = subprocess.run(
        argv, cwd=ROOT, env=_offline_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    heavy: list[str] = json.loads(out.read_text())
    return heavy


def test_describe_index_and_search_commands_never_import_torch(tmp_path: Path, cat_jpg: Path) -> None:
    data = str(tmp_path / "data")
    assert _cli(tmp_path, "describe", str(cat_jpg)) == []
    assert _cli(tmp_path, "index", str(cat_jpg.parent), "--data-dir", data) == []
    assert _cli(tmp_path, "search", "cat", "--data-dir", data, "--json") == []


@pytest.fixture(scope="module")
def written_catalog(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, np.ndarray]) -> Path:
    """A data folder holding a catalog indexed elsewhere: its points, none of its files
    or thumbnails on this machine (as a Ray job leaves a Qdrant collection)."""
    base = tmp_path_factory.mktemp("written")
    images = base / "elsewhere"
    images.mkdir()
    (images / "cat.jpg").write_bytes(encode(photos["chelsea"], "JPEG"))
    from catalog.factory import open_catalog
    from indexer.service import index_folder

    settings = load_settings({"data_dir": str(base / "data"), "captioner": "classic"}, environ={})
    catalog = open_catalog(settings.catalog)
    try:
        index_folder(images, settings.data_dir, catalog.describer, catalog.embedder, catalog.store)
    finally:
        catalog.close()
    shutil.rmtree(images)
    shutil.rmtree(base / "data" / "thumbs")
    return base / "data"


@pytest.fixture()
def read_only(written_catalog: Path) -> Iterator[TestClient]:
    settings = load_settings(
        {"watch": "", "data_dir": str(written_catalog), "captioner": "classic"}, environ={}
    )
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        waiting.wait_for(lambda: client.get("/api/health").status_code == 200, timeout=120, interval=0.2)
        yield client


def test_a_server_without_a_watched_folder_serves_the_written_catalog(read_only: TestClient) -> None:
    assert read_only.get("/api/health").json()["watching"] is None
    status = read_only.get("/api/index/status").json()
    assert (status["watching"], status["indexed"], status["pending"]) == (None, 1, 0)
    [hit] = read_only.get("/api/search", params={"q": "cat"}).json()["hits"]
    assert hit["path"] == "cat.jpg"
    assert "not watching a folder" in read_only.get("/").text


def test_files_and_thumbnails_not_on_this_machine_are_404_json(read_only: TestClient) -> None:
    [hit] = read_only.get("/api/search", params={"q": "cat"}).json()["hits"]
    answers: dict[str, Callable[[str], bool]] = {
        f"/api/images/{hit['id']}/thumbnail": lambda why: why.startswith("no thumbnail for image"),
        f"/api/images/{hit['id']}/file": lambda why: "watches no folder" in why,
    }
    for url, says_why in answers.items():
        response = read_only.get(url)
        assert (response.status_code, response.headers["content-type"]) == (404, "application/json"), url
        assert says_why(response.json()["error"]), response.json()


def test_inflect_loads_without_its_type_checking_and_leaves_typeguard_as_it_was() -> None:
    # typeguard's instrumentation of inflect was most of the start-up (describe/knowledge/language.py)
    code = (
        "import typeguard\n"
        "decorator = typeguard.typechecked\n"
        "from describe.knowledge.language import plural, with_article\n"
        "assert (plural('person'), with_article('umbrella')) == ('people', 'an umbrella')\n"
        "import inflect\n"
        "assert typeguard.typechecked is decorator\n"
        "names = inflect.engine.plural.__code__.co_names\n"
        "assert not [n for n in names if n.startswith('check_')], names\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


def test_serve_takes_a_folder_or_no_folder_not_both(tmp_path: Path) -> None:
    imgdesc = str(Path(sys.executable).parent / "imgdesc")
    argv = [imgdesc, "serve", "--watch", str(tmp_path / "w"), "--no-watch", "--data-dir", str(tmp_path / "d")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.strip()) == (2, "error: --watch and --no-watch: give one of them")
    assert not (tmp_path / "w").exists() and not (tmp_path / "d").exists()
