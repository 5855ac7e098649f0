"""`auto` and model management with no network: the fallback to classic, the cache
check, one readable line for missing weights, `imgdesc models`, and the REST
rule that a request may only pick a captioner that is already loaded."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from describe.analyzers.vlm import auto, hub
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.errors import ConfigError, ModelError, NotLoadedError, UnknownNameError
from tests import vlm_tiny
from tests.conftest import encode
from tests.fakes import FAKE_USE

IMGDESC = str(Path(sys.executable).parent / "imgdesc")
FLORENCE_REPO = "florence-community/Florence-2-base"


def put_in_cache(home: Path, repo: str, files_from: Path) -> Path:
    """Lay a folder out as the Hugging Face cache does: blobs are plain files here."""
    base = home / "hub" / f"models--{repo.replace('/', '--')}"
    snapshot = base / "snapshots" / ("0" * 40)
    shutil.copytree(files_from, snapshot)
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text("0" * 40)
    return snapshot


def test_auto_falls_back_to_classic_quickly_with_nothing_cached(
    empty_cache: Path, fakes: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_probe(repo: str, timeout: float = 2.0) -> bool:
        raise AssertionError("offline: the Hub must not be probed (a timeout per start)")

    # quick means no network probe: offline is known from the cache and HF_HUB_OFFLINE
    monkeypatch.setattr(hub, "hub_reachable", no_probe)
    with caplog.at_level(logging.WARNING, logger="describe"):
        describer = Describer(DescribeSettings(captioner="auto", use=FAKE_USE))
    assert describer.captioner == "classic"
    [line] = [r.getMessage() for r in caplog.records if "captioner auto" in r.getMessage()]
    assert "florence-2-base" in line and "using classic" in line and "\n" not in line
    result = describer.describe(encode(np.zeros((32, 48, 3), np.uint8)), name="x.png")
    assert result.captioner == "classic"


def test_the_fallback_is_said_once_per_machine(
    empty_cache: Path, fakes: None, caplog: pytest.LogCaptureFixture
) -> None:
    def said() -> list[str]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="describe"):
            describer = Describer(DescribeSettings(captioner="auto", use=FAKE_USE))
        assert describer.captioner == "classic"
        return [r.levelname for r in caplog.records if "captioner auto" in r.getMessage()]

    assert said() == ["WARNING"]  # the first command on this machine explains
    assert said() == ["INFO"]  # later ones keep quiet unless asked (--verbose, the server log)


def test_auto_is_the_default_and_unreachable_hub_means_classic(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DescribeSettings().captioner == "auto"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(hub, "hub_reachable", lambda repo, timeout=2.0: False)
    assert auto.choose("florence-2-base", {}, download=True, fallback="classic")[0] == "classic"
    monkeypatch.setattr(hub, "hub_reachable", lambda repo, timeout=2.0: True)
    # downloads on load
    assert auto.choose("florence-2-base", {}, download=True, fallback="classic")[0] == "florence-2-base"
    assert auto.choose("florence-2-base", {}, download=False, fallback="classic")[0] == "classic"


def test_offline_means_no_probe(empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[threading.Thread] = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))
    assert hub.hub_reachable(FLORENCE_REPO) is False
    assert started == []  # no probe thread, so no wait for one


def test_auto_uses_the_vlm_when_its_weights_are_cached(
    empty_cache: Path, tmp_path: Path, fakes: None
) -> None:
    folder = vlm_tiny.build_florence(tmp_path / "tiny")
    snapshot = put_in_cache(empty_cache, FLORENCE_REPO, folder)
    assert hub.cached_snapshot(FLORENCE_REPO) == snapshot
    describer = Describer(
        DescribeSettings(use=FAKE_USE, analyzers={"florence-2-base": {"max_new_tokens": 4}})
    )
    assert describer.captioner == "florence-2-base"
    result = describer.describe(encode(np.zeros((32, 48, 3), np.uint8)), name="x.png")
    assert result.captioner == "florence-2-base"
    assert describer.loaded_captioners() == ["classic", "florence-2-base"]


def test_auto_falls_back_when_the_cached_model_will_not_load(
    empty_cache: Path, tmp_path: Path, fakes: None, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "florence2"}')
    (broken / "model.safetensors").write_bytes(b"truncated")
    put_in_cache(empty_cache, FLORENCE_REPO, broken)
    describer = Describer(DescribeSettings(use=FAKE_USE))
    assert describer.captioner == "florence-2-base"  # chosen from the cache ...
    with caplog.at_level(logging.WARNING, logger="describe"):
        describer.load()
    assert describer.captioner == "classic"  # ... and given up, once, when it failed to load
    assert any("cannot load the model" in r.getMessage() for r in caplog.records)
    assert describer.describe(encode(np.zeros((8, 8, 3), np.uint8))).captioner == "classic"


def test_without_torch_auto_uses_classic_and_a_named_vlm_says_how_to_install_it(
    empty_cache: Path, tmp_path: Path, fakes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime install (make install) has no torch: cached weights cannot run there."""
    put_in_cache(empty_cache, FLORENCE_REPO, vlm_tiny.build_florence(tmp_path / "tiny"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real_find_spec(name, *a)
    )
    assert hub.torch_missing() == f"torch not installed ({hub.TORCH_INSTALL})"
    describer = Describer(DescribeSettings(use=FAKE_USE))
    assert describer.captioner == "classic"
    named = Describer(DescribeSettings(captioner="florence-2-base", use=FAKE_USE))
    with pytest.raises(ModelError, match=r"^florence-2-base runs on PyTorch: torch not installed \(pip"):
        named.load()


def test_an_incomplete_snapshot_is_not_cached(empty_cache: Path, tmp_path: Path) -> None:
    half = tmp_path / "half"
    half.mkdir()
    (half / "config.json").write_text("{}")
    (half / "model.safetensors.index.json").write_text(
        '{"weight_map": {"a": "model-00001-of-00002.safetensors"}}'
    )
    put_in_cache(empty_cache, FLORENCE_REPO, half)
    assert hub.cached_snapshot(FLORENCE_REPO) is None


def test_a_named_captioner_without_weights_says_how_to_get_them(empty_cache: Path, fakes: None) -> None:
    describer = Describer(DescribeSettings(captioner="florence-2-base", use=FAKE_USE))
    with pytest.raises(ModelError) as info:
        describer.load()
    message = info.value.message
    assert message.startswith("florence-2-base: weights not found in the Hugging Face cache")
    assert str(empty_cache) in message and "imgdesc models pull florence-2-base" in message
    assert "\n" not in message


def test_unknown_captioner_lists_auto_too() -> None:
    with pytest.raises(UnknownNameError, match=r"valid: auto, blip-base, .*florence-2-base"):
        Describer(DescribeSettings(captioner="gpt-9"))


def test_a_request_may_only_pick_a_loaded_captioner(empty_cache: Path, fakes: None) -> None:
    describer = Describer(DescribeSettings(use=FAKE_USE))
    describer.check_loaded(None)
    describer.check_loaded("classic")
    describer.check_loaded("auto")
    with pytest.raises(NotLoadedError, match=r"'blip-base' is not loaded here; loaded: classic") as info:
        describer.check_loaded("blip-base")
    assert info.value.status_code == 409
    with pytest.raises(UnknownNameError):
        describer.check_loaded("nope")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IMGDESC, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.slow
def test_cli_offline_auto_reports_classic_and_a_named_vlm_fails_in_one_line(tmp_path: Path) -> None:
    image = tmp_path / "x.png"
    image.write_bytes(encode(np.full((40, 60, 3), 200, np.uint8)))
    ok = run("describe", str(image), "--captioner", "auto", "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["captioner"] == "classic"
    failed = run("describe", str(image), "--captioner", "florence-2-base")
    assert failed.returncode == 2 and failed.stdout == ""
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: florence-2-base: weights not found")
    assert "imgdesc models pull florence-2-base" in lines[0] and "Traceback" not in failed.stderr


def test_cli_models_list_shows_every_captioner() -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    runner = CliRunner()
    listed = runner.invoke(cli, ["models", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.stdout)["models"]}
    expected = {"classic", "florence-2-base", "florence-2-large", "smolvlm-256m", "smolvlm-500m"}
    assert expected | {"qwen2.5-vl-3b", "blip-base", "blip-large"} <= set(rows)
    assert rows["florence-2-base"]["cached"] is False and rows["florence-2-base"]["licence"] == "MIT"
    assert rows["classic"]["cached"] is True
    active = json.loads(listed.stdout)["active"]  # what auto resolves to here, and why
    assert active["name"] == "classic" and "florence-2-base weights are not in" in active["reason"]
    table = runner.invoke(cli, ["models", "list"])
    assert "florence-2-base" in table.stdout and "qwen2.5-vl-3b" in table.stdout
    pulled = runner.invoke(cli, ["models", "pull", "florence-2-base"])
    assert isinstance(pulled.exception, ConfigError) and "HF_HUB_OFFLINE is set" in str(pulled.exception)
