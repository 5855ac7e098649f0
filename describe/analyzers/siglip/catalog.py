"""The zero-shot taggers imgdesc knows: SigLIP 2 FixRes checkpoints, which load with
transformers' native SiglipModel (no remote code). Sizes are the published checkpoints'
(parameters of both towers, float32 safetensors); the text tower is most of the small
one, because Gemma's 256k-token embedding table is 197 M parameters at width 768.
docs/CAPTIONERS.md ("Taggers") gives their published zero-shot numbers."""

from __future__ import annotations

from describe.analyzers.vlm.catalog import ModelSpec

_SPECS = (
    ModelSpec(
        "siglip2-base",
        "siglip2",
        "google/siglip2-base-patch16-224",
        375,
        1500,
        "Apache-2.0",
        "zero-shot tags and image search vectors (768-d); fast on a CPU",
    ),
    ModelSpec(
        "siglip2-so400m",
        "siglip2",
        "google/siglip2-so400m-patch16-384",
        1136,
        4550,
        "Apache-2.0",
        "the accurate tagger (1152-d): +6 points ImageNet zero-shot, ~10x the image cost",
    ),
)

TAGGERS: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}
DEFAULT_TAGGER = "siglip2-base"
