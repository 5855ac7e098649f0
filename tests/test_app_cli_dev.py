"""The dev commands (`imgdesc bench`, `imgdesc eval`) without their extras: one line
and exit code 2, before any of their code is imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from describe.errors import ImgdescError


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        (["bench"], "matplotlib"),
        (["bench", "--search"], "skimage"),
        (["eval"], "sklearn"),  # no folder: the dev set is rendered from the sample photos
    ],
)
def test_a_dev_command_without_its_extras_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], missing: str
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # find_spec then reports it as not installed
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"needs the dev extras ({missing} missing)" in lines[0]
    assert "pip install" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing ran: no report folder


def test_eval_of_a_folder_needs_matplotlib_but_not_the_sample_photos(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(cli, ["eval", str(tmp_path), "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "(matplotlib missing)" in result.output and "skimage" not in result.output


def test_the_florence_study_rejects_an_unknown_variant_before_loading_anything() -> None:
    result = CliRunner().invoke(cli, ["bench", "florence", "sdpa", "fp64"])
    assert isinstance(result.exception, ImgdescError)
    assert "unknown variant 'fp64'" in result.exception.message and "int8-all" in result.exception.message
