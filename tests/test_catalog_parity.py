"""What is measured is what is served: every way in opens the catalog through one
factory (catalog/factory.py). Over a store the server wrote, the offline CLI search
returns the same images in the same order as the server's /api/search, and the
evaluation searches through the same SearchService.over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import encode
from tests.waiting import wait_for
from tools.first_start import free_port, stop

pytestmark = pytest.mark.slow
IMGDESC = str(Path(sys.executable).with_name("imgdesc"))
QUERIES = ("a cat", "coffee cup", "flowers", "a building", "")


def _get(url: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(url, timeout=30) as response:
        body: dict = json.load(response)  # type: ignore[type-arg]
        return body


def test_offline_search_ranks_a_served_store_as_the_server_does(
    tmp_path: Path, photos: dict[str, np.ndarray]
) -> None:
    images, data = tmp_path / "images", tmp_path / "data"
    images.mkdir()
    for name in ("chelsea", "coffee", "flower", "china", "astronaut"):
        (images / f"{name}.jpg").write_bytes(encode(photos[name], "JPEG"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGDESC_")}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [IMGDESC, "serve", "--host", "127.0.0.1", "--port", str(port),
               "--watch", str(images), "--data-dir", str(data)]  # fmt: skip
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def indexed() -> bool:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                status = _get(f"{url}/api/index/status")
            except OSError:
                return False
            return bool(status["indexed"] == 5 and status["pending"] == 0)

        wait_for(indexed, timeout=300, interval=0.5)
        served = {
            q: [h["id"] for h in _get(f"{url}/api/search?{urllib.parse.urlencode({'q': q})}")["hits"]]
            for q in QUERIES
        }
    finally:
        stop(server)
    for query in QUERIES:  # the server is gone: the CLI opens the store itself
        done = subprocess.run(
            [IMGDESC, "search", query, "--json", "--data-dir", str(data)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        offline = [h["id"] for h in json.loads(done.stdout)["hits"]]
        assert offline == served[query], query
    assert any(len(ids) > 1 for ids in served.values())  # rankings, not single answers


def test_every_way_in_builds_its_search_over_the_catalog() -> None:
    """SearchService(...) is built in one place, SearchService.over; the REST handlers,
    the CLI, the evaluation, the benches and tools/ all call that."""
    root = Path(__file__).resolve().parent.parent
    direct = sorted(
        str(path.relative_to(root))
        for folder in ("app", "catalog", "indexer", "search", "tools")
        for path in (root / folder).rglob("*.py")
        if "SearchService(" in path.read_text() and path.name != "service.py"
    )
    assert direct == [], f"build the search with SearchService.over(catalog): {direct}"
