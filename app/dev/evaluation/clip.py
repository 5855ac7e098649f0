"""CLIPScore (Hessel et al., 2021): 2.5 · max(cos(image, text), 0) from a CLIP model,
a reference-free check that a description matches its image.

Only a CLIP model already in the local Hugging Face cache is used: the evaluation must
run offline, and it must not download hundreds of MB as a side effect.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PREFERRED = ("openai/clip-vit-base-patch32", "openai/clip-vit-base-patch16", "openai/clip-vit-large-patch14")
WEIGHT = 2.5  # the paper's w: rescales cosine (rarely above 0.4) to roughly [0, 1]


def find_local_clip() -> str | None:
    """The id of a CLIP model in the local Hugging Face cache (no network), or None."""
    try:
        from huggingface_hub import scan_cache_dir

        repos = {r.repo_id for r in scan_cache_dir().repos if r.repo_type == "model"}
    except Exception:  # no cache directory at all, or an unreadable one
        return None
    for repo in PREFERRED:
        if repo in repos:
            return repo
    # any other cached CLIP checkpoint (laion/CLIP-…, …/clip-vit-…), not CLIPSeg and the like
    others = sorted(r for r in repos if "clip" in r.lower() and "seg" not in r.lower())
    return others[0] if others else None


class ClipScorer:
    def __init__(self, model_id: str) -> None:
        from transformers import CLIPModel, CLIPProcessor

        self.model_id = model_id
        self._model: Any = CLIPModel.from_pretrained(model_id, local_files_only=True).eval()
        self._processor: Any = CLIPProcessor.from_pretrained(model_id, local_files_only=True)

    def score(self, image_path: Path, text: str) -> float:
        import torch
        from PIL import Image

        with Image.open(image_path) as opened:
            image = opened.convert("RGB")
        # CLIP's text encoder takes 77 tokens; longer paragraphs are cut, as in the paper
        inputs = self._processor(
            text=[text], images=image, return_tensors="pt", padding=True, truncation=True, max_length=77
        )
        with torch.inference_mode():
            out = self._model(**inputs)
        img = out.image_embeds / out.image_embeds.norm(dim=-1, keepdim=True)
        txt = out.text_embeds / out.text_embeds.norm(dim=-1, keepdim=True)
        return WEIGHT * max(float((img * txt).sum()), 0.0)


def load_scorer() -> tuple[ClipScorer | None, str]:
    """(scorer, note): the note says which model, or why there is none."""
    model_id = find_local_clip()
    if model_id is None:
        return None, "not available (no local CLIP model)"
    try:
        return ClipScorer(model_id), f"{model_id} (local cache)"
    except Exception as exc:
        log.warning("cannot load %s: %s", model_id, exc)
        return None, f"not available ({model_id} failed to load: {type(exc).__name__})"
