"""`imgdesc describe` end to end, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

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
    assert text.stdout.startswith("An image of a cat")
    tags = run("describe", str(folder / "cat.jpg"), "--format", "tags")
    assert "cat" in tags.stdout.strip().split(", ")


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
