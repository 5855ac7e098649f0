"""Settings of the describe core. The app builds one (from flags, IMGDESC_*
environment variables and imgdesc.toml) and passes it down; nothing here reads
the environment itself."""

from __future__ import annotations

from typing import Any

import msgspec

from describe.intake import IntakeLimits


class DescribeSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # "auto": the `vlm` captioner when its weights are cached (or can be downloaded), else "classic"
    captioner: str = "auto"
    # the vision-language captioner `auto` uses
    vlm: str = "florence-2-base"
    # what `auto` uses when the VLM can't run here, and what stands in for a VLM that
    # fails to load or answers nothing: model-free, always available
    fallback_captioner: str = "classic"
    # fetch missing captioner weights from the Hugging Face Hub when it can be reached
    download_models: bool = True
    profile: str = "default"
    profiles_file: str | None = None
    # Which registered analyzer fills each fact; a plugin can swap one by name.
    use: dict[str, str] = {}
    # Options per analyzer name, e.g. {"objects": {"min_score": 0.4}}.
    analyzers: dict[str, dict[str, Any]] = {}
    threads: int = 2
    # return freed heap to the OS after each image (see describe/memory.py)
    trim_memory: bool = True
    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_side: int = 1024

    @property
    def limits(self) -> IntakeLimits:
        return IntakeLimits(max_bytes=self.max_bytes, max_pixels=self.max_pixels, max_side=self.max_side)
