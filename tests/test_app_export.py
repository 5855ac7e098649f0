"""GET /api/export and `imgdesc export`: the same rows through REST and the CLI, the CLI
with its own catalog and beside a running server that holds the store. The model-free
fakes stand in for the models (tests/fake_app.py)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import uvicorn
from litestar.testing import TestClient
from typer.testing import CliRunner

from app.cli import cli
from app.config import load_settings
from app.server import create_app
from catalog.export.rows import COLUMNS, ExportRecord
from catalog.factory import Catalog, Models
from catalog.points import PointEncoder, stored_image
from catalog.store.base import StoredImage, point_id
from describe.facts import Tag
from tests.fake_app import fake_build, fake_site, wait_for
from tests.fakes import (
    FakeStore,
    HashEmbedder,
    fake_analyzers,
    image_bytes,
    make_describer,
    make_description,
    write_images,
)
from tools.first_start import free_port

IMAGES = 3
IMGDESC = str(Path(sys.executable).with_name("imgdesc"))


def _indexed(client: TestClient, count: int = IMAGES) -> bool:
    status = client.get("/api/index/status").json()
    return bool(status["ready"] and status["pending"] == 0 and status["indexed"] == count)


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[TestClient]:
    images = tmp_path / "images"
    write_images(images, IMAGES)
    with fake_analyzers(), fake_site(tmp_path, images) as client:
        wait_for(lambda: _indexed(client))
        yield client


def _csv(text: str) -> list[dict[str, str]]:
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert header == list(COLUMNS)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_csv_export_of_the_whole_catalog(site: TestClient) -> None:
    response = site.get("/api/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="imgdesc-export.csv"'
    rows = _csv(response.text)
    assert sorted(r["path"] for r in rows) == ["img000.png", "img001.png", "img002.png"]
    by_path = {r["path"]: r for r in rows}
    record = site.get(f"/api/images/{by_path['img001.png']['id']}").json()
    assert by_path["img001.png"]["description"] == record["description"]
    assert by_path["img001.png"]["tags"] == "; ".join(record["tags"])
    assert by_path["img001.png"]["captioner"] == "fake-caption"


def test_jsonl_export_takes_the_search_filters(site: TestClient) -> None:
    everything = site.get("/api/export", params={"format": "jsonl"})
    assert everything.headers["content-type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in everything.text.splitlines()]
    assert len(rows) == IMAGES and list(rows[0]) == list(COLUMNS)
    # a tag only some images carry: the export holds those, as the tag search does
    tag = next(t for r in rows for t in r["tags"] if sum(t in o["tags"] for o in rows) < IMAGES)
    tagged = site.get("/api/export", params={"format": "jsonl", "tag": tag}).text.splitlines()
    searched = site.get("/api/search", params={"tag": tag}).json()["hits"]
    assert sorted(json.loads(line)["id"] for line in tagged) == sorted(h["id"] for h in searched)
    # with a query: the search's hits, in its order
    hits = [h["id"] for h in site.get("/api/search", params={"q": "test card"}).json()["hits"]]
    ranked = site.get("/api/export", params={"format": "jsonl", "q": "test card"}).text.splitlines()
    assert [json.loads(line)["id"] for line in ranked] == hits and hits


def test_records_export_holds_whole_records(site: TestClient) -> None:
    lines = site.get("/api/export", params={"format": "records"}).content.splitlines()
    assert len(lines) == IMAGES
    for line in lines:
        record = msgspec.json.decode(line, type=ExportRecord)  # what the CLI decodes
        assert json.loads(line) == site.get(f"/api/images/{record.id}").json()


def test_a_bad_format_is_a_400_with_a_json_error(site: TestClient) -> None:
    response = site.get("/api/export", params={"format": "xlsx"})
    assert response.status_code == 400
    assert "format" in response.json()["error"] + json.dumps(response.json().get("detail"))


def test_the_openapi_document_names_both_media_types(site: TestClient) -> None:
    operation = site.get("/api/docs/openapi.json").json()["paths"]["/api/export"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson"}
    assert {"400", "503"} <= set(operation["responses"])


# --- the CLI ---------------------------------------------------------------------------


def _payloads() -> list[StoredImage]:
    out = []
    for name, tags in (("a/cat.jpg", ["cat", "sofa"]), ("b/dog.jpg", ["dog"]), ("=evil.jpg", ["cat"])):
        p = stored_image(make_description(f"a photo of {name}", tags=tags), sha256=name.ljust(64, "0"),
                         paths=[name], described_at="2026-01-01T00:00:00Z")  # fmt: skip
        out.append(msgspec.structs.replace(p, tag_details=[Tag(t, "objects", 0.8) for t in tags]))
    return out


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStore]:
    """The catalog `imgdesc export` opens when no server holds the store: the fakes."""
    import catalog.factory

    store = FakeStore()
    store.upsert(PointEncoder(HashEmbedder()).points([(point_id(p.sha256), p) for p in _payloads()]))

    def opened(settings: object, claim: object = None, search_only: bool = False) -> Catalog:
        assert search_only, "export must not load the describer"
        return Catalog(Models(make_describer(), HashEmbedder(), None), store)

    monkeypatch.setattr(catalog.factory, "open_catalog", opened)
    with fake_analyzers():
        yield store


def test_cli_exports_csv_jsonl_and_sidecars_from_its_own_catalog(offline: FakeStore, tmp_path: Path) -> None:
    runner, data = CliRunner(), str(tmp_path / "data")
    out = tmp_path / "export.csv"
    result = runner.invoke(cli, ["export", "--format", "csv", "--out", str(out), "--data-dir", data])
    assert result.exit_code == 0, result.output
    rows = _csv(out.read_text(encoding="utf-8"))
    assert sorted(r["path"] for r in rows) == ["'=evil.jpg", "a/cat.jpg", "b/dog.jpg"]
    assert "exported 3 images" in result.output
    jsonl = tmp_path / "cats.jsonl"
    result = runner.invoke(cli, ["export", "-f", "jsonl", "-t", "cats", "-o", str(jsonl), "--data-dir", data])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(line)["path"] for line in jsonl.read_text().splitlines()) == [
        "=evil.jpg",
        "a/cat.jpg",
    ]
    sidecars = tmp_path / "sidecars"
    result = runner.invoke(
        cli, ["export", "-f", "xmp", "-q", "photo", "-o", str(sidecars), "--data-dir", data]
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(sidecars).as_posix() for p in sidecars.rglob("*.xmp"))
    assert written == ["=evil.jpg.xmp", "a/cat.jpg.xmp", "b/dog.jpg.xmp"]
    assert "3 written, 0 merged" in result.output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "csv"], "error: --out is needed: the file to write"),
        (["--format", "xmp"], "error: --out is needed: the folder to write"),
        (["--format", "csv", "--beside-originals"], "error: --beside-originals is for --format xmp only"),
        (["--format", "xmp", "--beside-originals", "--out", "x"], "error: --out and --beside-originals"),
    ],
)
def test_bad_cli_input_is_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path) -> None:
    result = subprocess.run([IMGDESC, "export", *argv, "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(message)


# --- beside a running server -----------------------------------------------------------

HOLD_STORE = (
    "import sys; from pathlib import Path; from catalog.store.edge import EdgeStore; "
    "store = EdgeStore.open(Path(sys.argv[1]) / 'qdrant', 16); print('held', flush=True); sys.stdin.read()"
)


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A running server (the fakes behind it, on a real port) and a data folder whose
    embedded store another process holds, so the CLI finds the store in use."""
    data, images = tmp_path / "held", tmp_path / "images"
    write_images(images, IMAGES, sub="trip")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_STORE, str(data)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    port = free_port()
    settings = load_settings(
        {"watch": str(images), "data_dir": str(tmp_path / "data"), "port": port}, environ={}
    )
    with fake_analyzers():
        app = create_app(settings, fake_build(images))
        running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()
        try:
            wait_for(lambda: running.started)
            wait_for(lambda: _served(port), timeout=30)
            yield data, port
        finally:
            running.should_exit = True
            thread.join(timeout=30)
            holder.communicate("", timeout=30)


def _served(port: int) -> bool:
    response = httpx.get(f"http://127.0.0.1:{port}/api/index/status")
    if response.status_code != 200:  # 503 while the models load
        return False
    status = response.json()
    return bool(status["ready"] and status["pending"] == 0 and status["indexed"] == IMAGES)


def test_cli_exports_through_a_running_server(
    server: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog.embed

    class NoModel:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the embedding model was loaded although a server holds the store")

    monkeypatch.setattr(catalog.embed, "Embedder", NoModel)
    data, port = server
    runner = CliRunner(env={"IMGDESC_PORT": str(port), "IMGDESC_HOST": "127.0.0.1"})
    out = tmp_path / "served.csv"
    result = runner.invoke(cli, ["export", "-f", "csv", "-o", str(out), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    rows = _csv(out.read_text(encoding="utf-8"))
    assert sorted(r["path"] for r in rows) == [f"trip/img00{i}.png" for i in range(IMAGES)]
    assert f"exported {IMAGES} images" in result.output
    sidecars = tmp_path / "sidecars"
    result = runner.invoke(cli, ["export", "-f", "xmp", "--sidecar-name", "adobe", "-o", str(sidecars),
                                 "--data-dir", str(data)])  # fmt: skip
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(sidecars).as_posix() for p in sidecars.rglob("*.xmp"))
    assert written == [f"trip/img00{i}.xmp" for i in range(IMAGES)]
    for row in rows:
        sidecar = (sidecars / row["path"]).with_suffix(".xmp").read_text(encoding="utf-8")
        assert f"<imgdesc:ImageId>{row['id']}</imgdesc:ImageId>" in sidecar


def test_cli_sidecars_beside_the_originals_leave_the_images_as_they_were(
    offline: FakeStore, tmp_path: Path
) -> None:
    images = tmp_path / "watched"
    for rel in ("a/cat.jpg", "b/dog.jpg", "=evil.jpg"):
        (images / rel).parent.mkdir(parents=True, exist_ok=True)
        (images / rel).write_bytes(image_bytes(len(rel), fmt="JPEG"))
    before = {p: p.read_bytes() for p in images.rglob("*.jpg")}
    (images / "b" / "dog.jpg.xmp").write_bytes(b"<not xml")  # someone's broken sidecar
    runner = CliRunner(env={"IMGDESC_WATCH": str(images)})
    result = runner.invoke(
        cli, ["export", "-f", "xmp", "--beside-originals", "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 1, result.output  # one sidecar could not be merged
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "b/dog.jpg: sidecar" in errors[0] and "unreadable XMP" in errors[0]
    assert (images / "b" / "dog.jpg.xmp").read_bytes() == b"<not xml"
    assert {p: p.read_bytes() for p in images.rglob("*.jpg")} == before
    assert sorted(p.relative_to(images).as_posix() for p in images.rglob("*.xmp")) == [
        "=evil.jpg.xmp", "a/cat.jpg.xmp", "b/dog.jpg.xmp"
    ]  # fmt: skip
