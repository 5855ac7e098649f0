"""The vision-language captioners imgdesc knows: where their weights live, how
big they are and under which licence. Sizes are the published checkpoints'
(parameters, and the safetensors download in the checkpoint's own dtype).
docs/CAPTIONERS.md says which to pick for which machine and licence."""

from __future__ import annotations

import msgspec


class ModelSpec(msgspec.Struct, frozen=True):
    name: str  # the registered captioner name
    family: str  # one per architecture: florence, smolvlm, smolvlm2, qwen, qwen3, blip
    repo: str  # Hugging Face Hub repo id; checkpoints that need no remote code
    params_m: int  # millions of parameters
    download_mb: int  # weights to download (approximate)
    licence: str
    summary: str


_SPECS = (
    ModelSpec(
        "florence-2-base",
        "florence",
        "florence-community/Florence-2-base",
        231,
        464,
        "MIT",
        "paragraph captions, objects with boxes and OCR in one small model",
    ),
    ModelSpec(
        "florence-2-large",
        "florence",
        "florence-community/Florence-2-large",
        771,
        1540,
        "MIT",
        "Florence-2 with a larger encoder and decoder: better detail, 3x slower",
    ),
    ModelSpec(
        "smolvlm-256m",
        "smolvlm",
        "HuggingFaceTB/SmolVLM-256M-Instruct",
        256,
        513,
        "Apache-2.0",
        "the smallest instruction-following VLM: the profile's prompt steers it",
    ),
    ModelSpec(
        "smolvlm-500m",
        "smolvlm",
        "HuggingFaceTB/SmolVLM-500M-Instruct",
        507,
        1020,
        "Apache-2.0",
        "SmolVLM with a larger language model: follows prompts more reliably",
    ),
    ModelSpec(
        "smolvlm2-500m",
        "smolvlm2",
        "HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
        507,
        2030,  # stored in float32
        "Apache-2.0",
        "SmolVLM-500M retrained on more image and video data; same cost",
    ),
    ModelSpec(
        "qwen3-vl-2b",
        "qwen3",
        "Qwen/Qwen3-VL-2B-Instruct",
        2128,
        4260,
        "Apache-2.0",
        "the quality option: detailed, prompt-following, reads text; a GPU, or a patient CPU",
    ),
    ModelSpec(
        "qwen2.5-vl-3b",
        "qwen",
        "Qwen/Qwen2.5-VL-3B-Instruct",
        3755,
        7510,
        "Qwen Research (non-commercial)",
        "the previous quality option, non-commercial only: prefer qwen3-vl-2b",
    ),
    ModelSpec(
        "blip-base",
        "blip",
        "Salesforce/blip-image-captioning-base",
        247,
        990,
        "BSD-3-Clause",
        "short one-line captions, the classic baseline",
    ),
    ModelSpec(
        "blip-large",
        "blip",
        "Salesforce/blip-image-captioning-large",
        470,
        1880,
        "BSD-3-Clause",
        "BLIP with a ViT-L encoder: slightly better one-line captions",
    ),
)

CATALOG: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}
DEFAULT_VLM = "florence-2-base"
