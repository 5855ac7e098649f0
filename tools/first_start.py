"""A new user's first start, measured: `imgdesc serve` from this environment on an empty
data folder, time to health "ok", then a dropped picture indexed and described.

Needs only the runtime install (the standard library and Pillow), so `.ci/run` runs it
on the runtime venv before the dev lock goes on top, and tests/test_install.py runs it
in the suite; the tests that start a server borrow free_port() and stop(). Exit 0 when
health reached "ok" and the picture was indexed; any other health status, a server that
exits, or a timeout exits 1 with one line saying which.
Prints one JSON line: {"health_ok_s": ..., "indexed_s": ..., "description": ...}.

    python tools/first_start.py [--max-start SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

TIMEOUT_S = 120.0


class Failed(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-start", type=float, default=None, help="fail when health takes longer")
    args = parser.parse_args()
    try:
        result = first_start(args.max_start)
    except Failed as exc:
        print(f"first start failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


def first_start(max_start: float | None) -> dict[str, Any]:
    imgdesc = Path(sys.executable).with_name("imgdesc")  # the console script a user runs
    with tempfile.TemporaryDirectory(prefix="imgdesc-first-start-") as tmp:
        base = Path(tmp)
        images, data, log_file = base / "images", base / "data", base / "server.log"
        images.mkdir()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMGDESC_")}
        command = [str(imgdesc), "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--watch", str(images), "--data-dir", str(data)]  # fmt: skip
        start = time.monotonic()
        with log_file.open("wb") as log:  # cwd: the temp folder, so no imgdesc.toml applies
            process = subprocess.Popen(command, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            health_s = _wait("health ok", lambda: _healthy(url, process, log_file), start)
            if max_start is not None and health_s > max_start:
                raise Failed(f"health took {health_s:.1f} s, over {max_start} s")
            dropped = time.monotonic()
            _drawing().save(images / "sale-poster.jpg", quality=90)
            _wait("the dropped picture indexed", lambda: _indexed(url, process, log_file), dropped)
            indexed_s = time.monotonic() - dropped
            hits = _get(url, "/api/search?q=&limit=5")["hits"]
            if len(hits) != 1:
                raise Failed(f"search lists {len(hits)} images, not the one dropped")
            image = _get(url, f"/api/images/{hits[0]['id']}")
        finally:
            stop(process)
    description = str(image.get("description") or "")
    if not description:
        raise Failed("the indexed picture has no description")
    return {"health_ok_s": round(health_s, 2), "indexed_s": round(indexed_s, 2), "description": description}


def _drawing() -> Image.Image:
    """A poster-like picture: a red sun over stripes, and a caption in a white box."""
    picture = Image.new("RGB", (640, 480), (40, 90, 170))
    draw = ImageDraw.Draw(picture)
    for y in range(300, 480, 30):
        draw.rectangle((0, y, 640, y + 14), fill=(230, 200, 60))
    draw.ellipse((240, 60, 400, 220), fill=(220, 40, 30))
    draw.rectangle((170, 380, 470, 450), fill=(255, 255, 255))
    draw.text((190, 395), "SUMMER SALE", fill=(0, 0, 0), font_size=40)
    return picture


def _wait(what: str, check: Callable[[], bool], since: float) -> float:
    while not check():
        if time.monotonic() - since > TIMEOUT_S:
            raise Failed(f"{what}: not within {TIMEOUT_S:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - since


def _alive(process: subprocess.Popen[bytes], log_file: Path) -> None:
    if process.poll() is not None:
        tail = log_file.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise Failed(f"imgdesc serve exited with {process.returncode}: {tail[0]}")


def _healthy(url: str, process: subprocess.Popen[bytes], log_file: Path) -> bool:
    _alive(process, log_file)
    try:
        body = _get(url, "/api/health")
    except urllib.error.HTTPError as exc:  # 503 while loading, or failed
        body = json.loads(exc.read() or b"{}")
    except OSError:
        return False  # not listening yet
    if body.get("status") == "loading":
        return False
    if body.get("status") != "ok":
        raise Failed(f"health says {body.get('status')!r}: {body.get('error')}")
    return True


def _indexed(url: str, process: subprocess.Popen[bytes], log_file: Path) -> bool:
    _alive(process, log_file)
    status = _get(url, "/api/index/status")
    if status.get("failed"):
        raise Failed(f"indexing failed: {status}")
    return bool(status.get("indexed") == 1 and status.get("pending") == 0)


def _get(url: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + path, timeout=10) as response:
        body: dict[str, Any] = json.load(response)
        return body


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the server to stop (SIGTERM: it closes its store), then make sure it has."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


if __name__ == "__main__":
    sys.exit(main())
