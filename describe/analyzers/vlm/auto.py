"""`auto`: use the configured vision-language captioner when it can run here, else classic.

Decided once, when a Describer is built, from what is cheap to know: a local
model folder, the Hugging Face cache, HF_HUB_OFFLINE, and (only when
downloads are allowed and nothing is cached) whether the Hub answers within
two seconds. With no network this costs milliseconds, not a timeout: the
cache and the offline flag are checked first, and a failing DNS lookup
returns at once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from describe.analyzers.vlm import hub
from describe.analyzers.vlm.catalog import CATALOG


def choose(vlm: str, options: dict[str, Any], download: bool, fallback: str) -> tuple[str, str]:
    """(captioner, why) for `auto` with `vlm` as the preferred model and `fallback`
    (the settings' fallback_captioner) when it can't run here."""
    spec = CATALOG.get(vlm)
    source = str(options.get("model") or (spec.repo if spec else ""))
    if spec is not None and (why := hub.torch_missing()):
        return fallback, f"{vlm} runs on PyTorch: {why}"
    if not source:
        return vlm, "a registered captioner with no catalog entry; it finds its own weights"
    if Path(source).expanduser().is_dir():
        return vlm, f"weights in {source}"
    if hub.cached_snapshot(source) is not None:
        return vlm, f"weights in the Hugging Face cache ({hub.hub_cache()})"
    where = f"the Hugging Face cache ({hub.hub_cache()})"
    if hub.offline():
        return fallback, f"{vlm} weights are not in {where} and HF_HUB_OFFLINE is set"
    if not download:
        return fallback, f"{vlm} weights are not in the Hugging Face cache and download_models is off"
    if hub.hub_reachable(source):
        return vlm, "weights will be downloaded from the Hugging Face Hub on first use"
    return fallback, (
        f"{vlm} weights are not in {where} and the Hub cannot be reached; "
        f"run `imgdesc models pull {vlm}` on a machine with internet"
    )


def first_notice(reason: str) -> bool:
    """True the first time this machine meets `reason`, so the fallback is said once
    as a warning and not on every command (`imgdesc models list` and /api/health show
    the captioner in use at any time). Remembered as a marker file in the user's cache."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    marker = Path(cache) / "imgdesc" / "notices" / hashlib.sha256(reason.encode()).hexdigest()[:16]
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch(exist_ok=False)
    except FileExistsError:
        return False
    except OSError:  # nowhere to remember it: better said every time than never
        return True
    return True
