"""Weights on this machine: the local Hugging Face cache, and the Hub when it can be reached.

The environment is read on every call rather than through huggingface_hub's
constants, which are frozen when it is first imported: HF_HOME or
HF_HUB_OFFLINE set later (by a test, or by a server's settings) still count.
Nothing here waits on the network for long: `auto` must decide in well under a
second on a machine with no network at all.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from pathlib import Path

from describe.errors import ModelError

# Only what transformers loads; repos also carry ONNX exports, .bin duplicates and GGUF files.
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.jinja", "*.model", "*.tiktoken"]
IGNORE_PATTERNS = ["onnx/*", "*.onnx", "*.onnx_data", "*.gguf", "*.msgpack", "*.h5", "*.ot"]
REACH_TIMEOUT_S = 2.0
_TRUE = frozenset({"1", "on", "yes", "true"})


TORCH_INSTALL = "pip install 'imgdesc[torch]'; in a checkout, make install-torch"


def torch_missing() -> str | None:
    """Why the PyTorch models (VLM captioners, the SigLIP tagger) cannot run in this
    install, or None when they can: the runtime install leaves torch out."""
    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    return f"{' and '.join(missing)} not installed ({TORCH_INSTALL})" if missing else None


def hf_home() -> Path:
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(xdg) / "huggingface"


def hub_cache() -> Path:
    """Where snapshots live: HF_HUB_CACHE, else HF_HOME/hub (default ~/.cache/huggingface/hub)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    return Path(explicit).expanduser() if explicit else hf_home() / "hub"


def offline() -> bool:
    flags = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(k, "").strip().lower() in _TRUE for k in flags)


def _complete(folder: Path) -> bool:
    """A config and every weight shard: a half-finished download is not 'cached'."""
    if not (folder / "config.json").is_file():
        return False
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text())["weight_map"].values())
        except (OSError, ValueError, KeyError):
            return False
        return all((folder / shard).is_file() for shard in shards)
    return any(folder.glob("*.safetensors"))


def cached_snapshot(repo: str) -> Path | None:
    """The complete local snapshot of a repo, or None. Never touches the network."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo, cache_dir=hub_cache(), local_files_only=True)
    except Exception:  # not in the cache (LocalEntryNotFoundError), or a broken ref
        return None
    folder = Path(str(path))
    return folder if _complete(folder) else None


def hub_reachable(repo: str, timeout: float = REACH_TIMEOUT_S) -> bool:
    """True when the Hub answers for this repo within the timeout.

    The request runs in a daemon thread so that a resolver that hangs (no DNS
    server answering) cannot hold the caller longer than the timeout."""
    if offline():
        return False
    result: list[bool] = []

    def probe() -> None:
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        try:
            get_hf_file_metadata(hf_hub_url(repo, "config.json"), timeout=timeout)
        except Exception:
            result.append(False)
        else:
            result.append(True)

    thread = threading.Thread(target=probe, daemon=True, name="hub-probe")
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def missing_message(name: str, repo: str) -> str:
    return (
        f"{name}: weights not found in the Hugging Face cache ({hub_cache()}, repo {repo}); "
        f"run `imgdesc models pull {name}` on a machine with internet (set HF_HOME to use another cache)"
    )


def download(name: str, repo: str, progress: bool = True) -> Path:
    """Fetch a snapshot into the cache (resumable); a failure is one ModelError line."""
    if offline():
        raise ModelError(f"{name}: cannot download {repo}: HF_HUB_OFFLINE is set; unset it to download")
    if not hub_reachable(repo):
        raise ModelError(
            f"{name}: cannot download {repo}: the Hugging Face Hub cannot be reached "
            "(no network, or check HF_ENDPOINT and proxy settings)"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    if not progress:
        disable_progress_bars()
    try:
        path = snapshot_download(
            repo, cache_dir=hub_cache(), allow_patterns=ALLOW_PATTERNS, ignore_patterns=IGNORE_PATTERNS
        )
    except Exception as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = (lines[0] if lines else type(exc).__name__)[:200]
        raise ModelError(f"{name}: cannot download {repo} from the Hugging Face Hub: {reason}") from None
    finally:
        if not progress:
            enable_progress_bars()
    folder = Path(str(path))
    if not _complete(folder):
        raise ModelError(f"{name}: the download of {repo} is incomplete; run `imgdesc models pull {name}`")
    return folder


def weights_path(name: str, source: str, allow_download: bool) -> Path:
    """A local folder for `source` (a folder path or a repo id): the folder itself,
    the cached snapshot, or a fresh download when allowed and the Hub answers."""
    local = Path(source).expanduser()
    if local.is_dir():
        if not _complete(local):
            raise ModelError(f"{name}: {local} has no config.json and safetensors weights")
        return local
    cached = cached_snapshot(source)
    if cached is not None:
        return cached
    if allow_download and hub_reachable(source):
        return download(name, source)
    raise ModelError(missing_message(name, source))
