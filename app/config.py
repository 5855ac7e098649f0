"""One settings object, built once in the entry point and passed down.

Precedence, lowest first: defaults < imgdesc.toml < IMGDESC_* environment
variables < command-line flags. Keys are flat (``captioner = "classic"``,
``IMGDESC_CAPTIONER=classic``); the describe core's own keys are routed into
its section so the core never reads the environment itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

from catalog.settings import DEFAULT_EMBEDDING_MODEL, CatalogSettings
from describe.config import DescribeSettings
from describe.errors import ConfigError

ENV_PREFIX = "IMGDESC_"
CONFIG_FILE = "imgdesc.toml"
_DESCRIBE_KEYS = frozenset(DescribeSettings.__struct_fields__)
_LIST_KEYS = frozenset({"allowed_hosts", "trusted_proxies"})  # comma-separated in the environment


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    # Host names the server answers to besides loopback names and `host` itself
    # (the DNS-rebinding guard); "*" answers to any. Environment: comma-separated.
    allowed_hosts: list[str] = msgspec.field(default_factory=list)
    # The folder to watch and index; None or "" (`--no-watch`, IMGDESC_WATCH=""): none,
    # the server then only serves a catalog another process writes (read-only).
    watch: str | None = "images"
    data_dir: str = "data"
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    # Accounts (app/auth/): auth is on once one exists. With none, a server on an address
    # other than loopback refuses to start unless `no_auth` (--no-auth) accepts it open.
    no_auth: bool = False
    session_hours: Annotated[float, msgspec.Meta(gt=0)] = (
        24 * 7
    )  # a page log-in lasts this long, then asks again
    # Reverse proxies whose X-Forwarded-Proto/-For are believed (IPs or networks, e.g.
    # "127.0.0.1" for a Caddy on the same machine); none by default. Environment: comma-separated.
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    # The API token the CLI sends to a running server (search, export, users --server);
    # better given as IMGDESC_TOKEN than written into imgdesc.toml. The server ignores it.
    token: str | None = None
    describe: DescribeSettings = msgspec.field(default_factory=DescribeSettings)

    def __post_init__(self) -> None:
        if self.watch is not None and not self.watch.strip():
            self.watch = None  # one spelling of "no folder" for everything that reads it

    @property
    def catalog(self) -> CatalogSettings:
        """What opening the catalog needs (catalog.factory), from these settings. The
        fields stay flat here: imgdesc.toml and IMGDESC_* keep their names."""
        return CatalogSettings(
            data_dir=self.data_dir, qdrant_url=self.qdrant_url, qdrant_api_key=self.qdrant_api_key,
            embedding_model=self.embedding_model, describe=self.describe,
        )  # fmt: skip


def _route(flat: Mapping[str, Any], into: dict[str, Any]) -> None:
    for key, value in flat.items():
        if value is None:
            continue
        if key in _DESCRIBE_KEYS:
            into.setdefault("describe", {})[key] = value
        else:
            into[key] = value


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    path = Path(config_file or environ.get(f"{ENV_PREFIX}CONFIG") or CONFIG_FILE)
    if path.is_file():
        try:
            from_file = msgspec.toml.decode(path.read_bytes())
        except msgspec.DecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        nested = from_file.pop("describe", {})
        _route(from_file, raw)
        raw.setdefault("describe", {}).update(nested)
    elif config_file is not None:
        raise ConfigError(f"config file not found: {path}")
    fields = set(Settings.__struct_fields__) | _DESCRIBE_KEYS
    env: dict[str, Any] = {
        k[len(ENV_PREFIX) :].lower(): v
        for k, v in environ.items()
        if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX) :].lower() in fields
    }
    for key in _LIST_KEYS & env.keys():
        env[key] = [item.strip() for item in env[key].split(",") if item.strip()]
    _route(env, raw)
    _route(overrides or {}, raw)
    try:
        # strict=False lets "8000" from the environment become an int
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"bad setting: {exc}") from None
