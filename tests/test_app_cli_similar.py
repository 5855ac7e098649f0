"""`imgdesc search --like PATH_OR_ID` (app/cli/similar.py): through a running server (which
holds the store) and over a catalog no server holds, the same more-like-this ranking; a
file is found by its content; bad input is one error line and a non-zero exit."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from app.cli import cli
from catalog.fingerprint import fingerprint
from catalog.points import stored_image
from catalog.store.base import ImagePoint, SparseVector, point_id
from catalog.store.edge import claim_lock, release_claim
from tests.fakes import FakeStore, make_description

IMGDESC = str(Path(sys.executable).parent / "imgdesc")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """As a user runs it: the CLI's errors are written by its entry point."""
    return subprocess.run(
        [IMGDESC, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


class _Server(BaseHTTPRequestHandler):
    asked: list[str] = []  # noqa: RUF012 - the paths the CLI asked for
    known: set[str] = set()  # noqa: RUF012 - ids the "server" holds

    def do_GET(self) -> None:
        self.asked.append(self.path)
        image = self.path.split("/")[3]
        if image not in self.known:
            self._answer(404, {"error": f"no image with id {image!r}"})
            return
        hit = {"id": "2", "path": "copy.jpg", "filename": "copy.jpg", "score": 10.9, "description": "A cat.",
               "tags": ["cat"], "paths": ["copy.jpg"], "alt": "", "width": 4, "height": 3}  # fmt: skip
        self._answer(200, {"id": image, "hits": [hit]})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A running server's stand-in, holding the data folder's store."""
    held = claim_lock(tmp_path / "data" / "qdrant")
    running = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=running.serve_forever, daemon=True).start()
    _Server.asked.clear()
    try:
        yield {"IMGDESC_PORT": str(running.server_address[1]), "IMGDESC_HOST": "127.0.0.1"}
    finally:
        running.shutdown()
        release_claim(held)


def test_a_file_is_found_by_its_content_on_the_running_server(tmp_path: Path, server: dict[str, str]) -> None:
    photo = tmp_path / "elsewhere" / "cat.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"the bytes of a cat")
    wanted = point_id(hashlib.sha256(photo.read_bytes()).hexdigest())
    _Server.known = {wanted}
    data = str(tmp_path / "data")
    result = CliRunner().invoke(
        cli, ["search", "--like", str(photo), "--json", "--limit", "3", "--data-dir", data], env=server
    )
    assert result.exit_code == 0, result.output
    assert _Server.asked == [f"/api/images/{wanted}/similar?limit=3"]
    body = json.loads(result.stdout)
    assert body["like"] == wanted and [h["path"] for h in body["hits"]] == ["copy.jpg"]
    by_id = CliRunner().invoke(cli, ["search", "--like", wanted, "--data-dir", data], env=server)
    assert by_id.exit_code == 0 and "copy.jpg" in by_id.stdout
    unknown = run("search", "--like", point_id("never"), "--data-dir", data, env=server)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        f"error: {point_id('never')}: not in the catalog (index its folder first)"
    ]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--like", "no-such-file.jpg"], "error: no-such-file.jpg: neither a file nor an image id"),
        (
            ["cat", "--like", "x.jpg"],
            "error: --like finds images like one image: give it without a query or tags",
        ),
    ],
)
def test_bad_input_is_one_error_line(tmp_path: Path, args: list[str], says: str) -> None:
    result = run("search", *args, "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [says]


def test_over_a_catalog_no_server_holds_the_near_copy_comes_first(
    tmp_path: Path, photos: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FakeStore()
    files = {}
    for name, picture in (
        ("cat.jpg", Image.fromarray(photos["chelsea"])),
        ("cat-small.jpg", Image.fromarray(photos["chelsea"]).resize((225, 150))),
        ("coffee.jpg", Image.fromarray(photos["coffee"])),
        ("rocket.jpg", Image.fromarray(photos["rocket"])),
    ):
        buffer = io.BytesIO()
        picture.convert("RGB").save(buffer, "JPEG")
        path = tmp_path / name
        path.write_bytes(buffer.getvalue())
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        payload = stored_image(make_description(f"a photo named {name}"), sha256=sha, paths=[name],
                               fingerprint=fingerprint(picture))  # fmt: skip
        store.upsert(
            [ImagePoint(id=point_id(sha), dense=[1.0, 0.0], sparse=SparseVector([], []), payload=payload)]
        )
        files[name] = point_id(sha)
    import catalog.factory

    monkeypatch.setattr(
        catalog.factory,
        "open_catalog",
        lambda *args, **kwargs: SimpleNamespace(store=store, close=lambda: None),
    )
    result = CliRunner().invoke(
        cli, ["search", "--like", str(tmp_path / "cat.jpg"), "--json", "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code == 0, result.output
    ranked = [h["id"] for h in json.loads(result.stdout)["hits"]]
    assert ranked[0] == files["cat-small.jpg"] and files["cat.jpg"] not in ranked and len(ranked) == 3
