"""`imgdesc describe` end to end, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tools.first_start import free_port

pytestmark = pytest.mark.slow
IMGDESC = str(Path(sys.executable).parent / "imgdesc")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IMGDESC, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture()
def folder(tmp_path: Path, photos: dict[str, np.ndarray], write_image: Callable[..., Path]) -> Path:
    write_image("cat.jpg", photos["chelsea"])
    write_image("coffee.png", photos["coffee"])
    (tmp_path / "broken.jpg").write_text("not really a jpeg")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / ".hidden.jpg").write_text("skipped")
    return tmp_path


def test_json_lines_for_good_files_and_one_error_line_per_bad_file(folder: Path) -> None:
    result = run("describe", str(folder), "--format", "json")
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["path"]).name for r in records] == ["cat.jpg", "coffee.png"]
    for record in records:
        for key in ("path", "description", "tags", "colors", "composition", "objects", "text", "captioner"):
            assert key in record
        assert record["captioner"] == "classic"
        assert record["timings_ms"]["total"] > 0
    assert "cat" in records[0]["tags"] and "cup" in records[1]["tags"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any("broken.jpg: not an image" in e for e in errors)
    assert any("empty.png: empty file" in e for e in errors)
    assert "Traceback" not in result.stderr


def test_text_and_tags_formats(folder: Path) -> None:
    text = run("describe", str(folder / "cat.jpg"))
    assert text.returncode == 0
    assert text.stdout.startswith("An image of a brown cat, most likely an Egyptian cat.")
    assert 35 <= len(text.stdout.split()) <= 80  # one detailed paragraph
    tags = run("describe", str(folder / "cat.jpg"), "--format", "tags")
    assert "cat" in tags.stdout.strip().split(", ")


def test_describe_checks_a_prompt_given_on_the_command_line(folder: Path) -> None:
    result = run("describe", str(folder / "cat.jpg"), "--format", "json", "--prompt", "a dog and a cat")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    status = {item["thing"]: item["status"] for item in record["prompt_check"]["items"]}
    assert status == {"dog": "not_seen", "cat": "seen"}
    assert "prompt-mismatch" in record["tags"]


def test_a_profile_file_changes_the_paragraph_without_code(folder: Path, tmp_path: Path) -> None:
    profiles = tmp_path / "mine.toml"
    profiles.write_text(
        '[profiles.shop]\nfacts = ["objects", "colours"]\n'
        "template = \"Product: {{ subject }}. Colours: {{ colour_names | join(', ') }}.\"\n"
    )
    result = run("describe", str(folder / "cat.jpg"), "--profiles-file", str(profiles), "--profile", "shop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Product: a cat. Colours: ")


def test_config_errors_are_one_line(folder: Path) -> None:
    result = run("describe", str(folder / "cat.jpg"), "--profile", "nope")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: unknown profile 'nope'; valid:")
    assert "Traceback" not in result.stderr


# --- start-up against a store another process holds -------------------------------

HOLD_STORE = (
    "import sys; from pathlib import Path; from catalog.store.edge import EdgeStore; "
    "store = EdgeStore.open(Path(sys.argv[1]) / 'qdrant', 16); print('held', flush=True); sys.stdin.read()"
)


@pytest.fixture()
def held_store(tmp_path: Path) -> Iterator[Path]:
    """A data folder whose embedded store another process holds, as a running server does."""
    data = tmp_path / "data"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE, str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield data
    holder.communicate("", timeout=30)  # closing stdin lets it exit


def test_a_second_server_on_a_held_store_exits_at_once(held_store: Path, tmp_path: Path) -> None:
    port = free_port()
    argv = ["serve", "--data-dir", str(held_store), "--watch", str(tmp_path / "w"), "--port", str(port)]
    try:  # it used to bind the port, load models and answer 503 forever
        result = run(*argv)
    except subprocess.TimeoutExpired:
        pytest.fail("`imgdesc serve` stayed up on a store another process holds")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: the embedded store at") and "in use by another imgdesc process" in line


def test_index_says_the_store_is_in_use_before_loading_models(held_store: Path, folder: Path) -> None:
    start = time.perf_counter()
    result = run("index", str(folder), "--data-dir", str(held_store))
    elapsed = time.perf_counter() - start
    assert result.returncode == 2 and "in use by another imgdesc process" in result.stderr
    assert elapsed < 8, f"took {elapsed:.1f} s: models were loaded first (it took 21 s)"


class _Search(BaseHTTPRequestHandler):
    """A running server's /api/search, as far as the CLI needs it."""

    def do_GET(self) -> None:
        hit = {"id": "1", "path": "cat.jpg", "filename": "cat.jpg", "score": 0.9, "description": "A cat.",
               "tags": ["cat"], "paths": ["cat.jpg"], "alt": "A cat.", "width": 4, "height": 3}  # fmt: skip
        body = json.dumps({"hits": [hit] if "q=cat" in self.path else []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_search_asks_the_running_server_without_loading_the_model(
    held_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog.embed
    from app.cli.client import search_hits
    from app.config import load_settings

    class NoModel:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the embedding model was loaded although a server holds the store")

    monkeypatch.setattr(catalog.embed, "Embedder", NoModel)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Search)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = load_settings({"data_dir": str(held_store), "port": server.server_address[1]})
        (hit,) = search_hits(settings, "cat", [], 5)
        assert hit.path == "cat.jpg"
        # and as a user runs it: an answer well under the 13–18 s it took
        env = {**os.environ, "IMGDESC_PORT": str(server.server_address[1])}
        start = time.perf_counter()
        out = subprocess.run([IMGDESC, "search", "cat", "--json", "--data-dir", str(held_store)],
                             capture_output=True, text=True, timeout=60, env=env)  # fmt: skip
        elapsed = time.perf_counter() - start
    finally:
        server.shutdown()
    assert out.returncode == 0, out.stderr
    assert [h["path"] for h in json.loads(out.stdout)["hits"]] == ["cat.jpg"]
    assert elapsed < 3, f"`imgdesc search` through the server took {elapsed:.1f} s"


def test_the_captioner_fallback_is_said_once_per_machine(folder: Path, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "fresh-cache")}
    argv = [IMGDESC, "describe", str(folder / "cat.jpg")]
    first, second = (subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env) for _ in "12")
    assert first.returncode == second.returncode == 0
    assert "captioner auto: florence-2-base weights are not in" in first.stderr
    assert "captioner auto" not in second.stderr


def test_index_with_ray_needs_a_qdrant_server_and_says_so_at_once(folder: Path) -> None:
    result = run("index", str(folder), "--engine", "ray", "--data-dir", str(folder / "data"))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: --engine ray writes to a Qdrant server: give --qdrant-url")
    assert not (folder / "data").exists()  # nothing was claimed or created
