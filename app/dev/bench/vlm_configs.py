"""The published configurations of the vision-language captioners, written out
from each checkpoint's config.json (only the values that set the architecture's
shape and cost), and model inputs for one image built with the family's real
image processor at imgdesc's CPU settings. Used by the architecture benchmark,
which must not download anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

TEXT_TOKENS = 12  # a prompt's worth of text tokens around the image


def florence(large: bool) -> Any:
    from transformers import Florence2Config

    d, layers, heads = (1024, 12, 16) if large else (768, 6, 12)
    dims = [256, 512, 1024, 2048] if large else [128, 256, 512, 1024]
    groups = [8, 16, 32, 64] if large else [4, 8, 16, 32]
    text = {
        "model_type": "bart", "vocab_size": 51290, "d_model": d, "encoder_layers": layers,
        "decoder_layers": layers, "encoder_attention_heads": heads, "decoder_attention_heads": heads,
        "encoder_ffn_dim": 4 * d, "decoder_ffn_dim": 4 * d, "max_position_embeddings": 1024,
        "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "decoder_start_token_id": 2,
        "forced_eos_token_id": 2,
    }  # fmt: skip
    vision = {
        "depths": [1, 1, 9, 1], "embed_dim": dims, "num_heads": groups, "num_groups": groups,
        "patch_size": [7, 3, 3, 3], "patch_stride": [4, 2, 2, 2], "patch_padding": [3, 1, 1, 1],
        "patch_prenorm": [False, True, True, True], "window_size": 12, "projection_dim": d,
    }  # fmt: skip
    return Florence2Config(text_config=text, vision_config=vision, image_token_id=51289)


def smolvlm(large: bool) -> Any:
    """SmolVLM-256M/500M-Instruct: Idefics3 with a SigLIP-B/16 at 512 px and SmolLM2."""
    from transformers import Idefics3Config

    hidden, inter, layers, heads, kv = (960, 2560, 32, 15, 5) if large else (576, 1536, 30, 9, 3)
    text = {
        "model_type": "llama", "vocab_size": 49280, "hidden_size": hidden, "intermediate_size": inter,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": 64,
        "max_position_embeddings": 8192, "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
        "pad_token_id": 2, "bos_token_id": 1, "eos_token_id": 49279,
    }  # fmt: skip
    vision = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
              "num_attention_heads": 12, "image_size": 512, "patch_size": 16}  # fmt: skip
    return Idefics3Config(text_config=text, vision_config=vision, scale_factor=4, image_token_id=49190)


def qwen() -> Any:
    from transformers import Qwen2_5_VLConfig

    text = {
        "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
        "num_attention_heads": 16, "num_key_value_heads": 2, "max_position_embeddings": 128000,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
        "bos_token_id": 151643, "eos_token_id": 151645, "pad_token_id": 151643, "tie_word_embeddings": True,
    }  # fmt: skip
    vision = {
        "depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16, "out_hidden_size": 2048,
        "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31], "hidden_act": "silu",
    }  # fmt: skip
    return Qwen2_5_VLConfig(
        text_config=text, vision_config=vision, image_token_id=151655, video_token_id=151656,
        vision_start_token_id=151652, vision_end_token_id=151653, tie_word_embeddings=True,
    )  # fmt: skip


def smolvlm2() -> Any:
    """SmolVLM2-500M-Video-Instruct: SmolVLM-500M's shape in transformers' SmolVLM classes."""
    from transformers import SmolVLMConfig

    base = smolvlm(large=True)
    return SmolVLMConfig(
        text_config=base.text_config.to_dict(), vision_config=base.vision_config.to_dict(),
        scale_factor=4, image_token_id=49190,
    )  # fmt: skip


def qwen3() -> Any:
    """Qwen3-VL-2B-Instruct: a 24-layer ViT with 16 px patches and DeepStack taps, and Qwen3-1.7B."""
    from transformers import Qwen3VLConfig

    text = {
        "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
        "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
        "max_position_embeddings": 262144,
        "rope_parameters": {"rope_type": "default", "rope_theta": 5000000.0, "mrope_section": [24, 20, 20],
                            "mrope_interleaved": True},
        "bos_token_id": 151643, "eos_token_id": 151645, "tie_word_embeddings": True,
    }  # fmt: skip
    vision = {
        "depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16, "out_hidden_size": 2048,
        "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2, "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [5, 11, 17], "hidden_act": "gelu_pytorch_tanh",
    }  # fmt: skip
    return Qwen3VLConfig(
        text_config=text, vision_config=vision, image_token_id=151655, video_token_id=151656,
        vision_start_token_id=151652, vision_end_token_id=151653, tie_word_embeddings=True,
    )  # fmt: skip


def blip(large: bool) -> Any:
    from transformers import BlipConfig

    width, layers, heads = (1024, 24, 16) if large else (768, 12, 12)
    text = {
        "vocab_size": 30524, "hidden_size": 768, "encoder_hidden_size": width, "intermediate_size": 3072,
        "num_hidden_layers": 12, "num_attention_heads": 12, "bos_token_id": 30522, "eos_token_id": 2,
        "sep_token_id": 102, "pad_token_id": 0,
    }  # fmt: skip
    vision = {"hidden_size": width, "intermediate_size": 4 * width, "num_hidden_layers": layers,
              "num_attention_heads": heads, "image_size": 384, "patch_size": 16}  # fmt: skip
    return BlipConfig(text_config=text, vision_config=vision, projection_dim=512)


PUBLISHED: dict[str, Callable[[], Any]] = {
    "florence-2-base": lambda: florence(large=False),
    "florence-2-large": lambda: florence(large=True),
    "smolvlm-256m": lambda: smolvlm(large=False),
    "smolvlm-500m": lambda: smolvlm(large=True),
    "smolvlm2-500m": smolvlm2,
    "qwen3-vl-2b": qwen3,
    "qwen2.5-vl-3b": qwen,
    "blip-base": lambda: blip(large=False),
    "blip-large": lambda: blip(large=True),
}


def _text(ids: list[int]) -> dict[str, Any]:
    import torch

    tensor = torch.tensor([ids])
    return {"input_ids": tensor, "attention_mask": torch.ones_like(tensor)}


def build_inputs(captioner: Any, image: np.ndarray, new_tokens: int) -> dict[str, Any]:
    """A forward() batch for one image: the published image processor settings, the
    captioner's CPU caps, and placeholder text tokens around the image tokens."""
    import torch
    from PIL import Image

    pil = Image.fromarray(image)
    family = captioner.spec.family
    processor: Any  # each family's own image processor class
    prompt = list(range(1000, 1000 + TEXT_TOKENS))
    if family == "florence":
        from transformers import CLIPImageProcessorPil

        processor = CLIPImageProcessorPil(size={"height": 768, "width": 768}, do_center_crop=False)
        pixels = processor(images=[pil], return_tensors="pt")["pixel_values"]
        batch = _text([51289] * 577 + [0, *prompt, 2])
        return {**batch, "pixel_values": pixels, "image_index": torch.tensor([0]), "tasks": ["<CAPTION>"],
                "max_new_tokens": new_tokens}  # fmt: skip
    if family in ("smolvlm", "smolvlm2"):  # SmolVLM2's processor is Idefics3's, renamed
        from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

        processor = Idefics3ImageProcessorPil(
            size={"longest_edge": 2048}, max_image_size={"longest_edge": 512}
        )
        out = processor(images=[[pil]], return_tensors="pt", do_image_splitting=captioner.split_image)
        tiles = out["pixel_values"].shape[1]
        image_ids = ([49189, 49152] + [49190] * 64 + [49189]) * tiles  # <fake><global-img|row>…<fake>
        pixels = {"pixel_values": out["pixel_values"], "pixel_attention_mask": out["pixel_attention_mask"]}
        return {**_text([1, 2000, 2001, *image_ids, *prompt, 49279, 2002]), **pixels}
    if family in ("qwen", "qwen3"):
        from transformers import Qwen2VLImageProcessorPil

        processor = Qwen2VLImageProcessorPil(patch_size=16 if family == "qwen3" else 14)
        size = {"shortest_edge": captioner.min_pixels, "longest_edge": captioner.max_pixels}
        out = processor(images=[pil], return_tensors="pt", size=size)
        count = int(out["image_grid_thw"][0].prod()) // 4
        ids = [
            151644,
            872,
            198,
            151652,
            *([151655] * count),
            151653,
            *prompt,
            151645,
            198,
            151644,
            77091,
            198,
        ]
        return {**_text(ids), "pixel_values": out["pixel_values"], "image_grid_thw": out["image_grid_thw"]}
    from transformers import BlipImageProcessorPil

    processor = BlipImageProcessorPil(size={"height": 384, "width": 384})
    return {"pixel_values": processor(images=[pil], return_tensors="pt")["pixel_values"]}
