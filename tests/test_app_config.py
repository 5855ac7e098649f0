from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_settings
from describe.errors import ConfigError


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "imgdesc.toml"
    config.write_text('port = 9000\nprofile = "alt"\nthreads = 1\n[analyzers.objects]\nmin_score = 0.4\n')
    env = {"IMGDESC_PORT": "9100", "IMGDESC_CAPTIONER": "classic", "OTHER": "x"}
    settings = load_settings({"profile": "tags", "host": None}, config_file=config, environ=env)
    assert settings.port == 9100  # env beats file, and "9100" became an int
    assert settings.describe.profile == "tags"  # flag beats file
    assert settings.describe.threads == 1
    assert settings.describe.analyzers == {"objects": {"min_score": 0.4}}
    assert settings.host == "127.0.0.1"  # a None flag means "not given"


def test_unknown_keys_and_bad_values_are_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "imgdesc.toml"
    config.write_text("prot = 9000\n")
    with pytest.raises(ConfigError, match="prot"):
        load_settings(config_file=config, environ={})
    with pytest.raises(ConfigError, match="port"):
        load_settings(environ={"IMGDESC_PORT": "eighty"})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(config_file=tmp_path / "missing.toml", environ={})
