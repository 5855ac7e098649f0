"""Tiny random-weight checkpoints of each vision-language architecture, built and
saved by the tests themselves: a config with hidden sizes of 16–32 and one
layer, a byte-level (or word-piece) tokenizer made here, the image processor
class the published checkpoint uses, saved in the published layout (weights,
config, tokenizer files, preprocessor_config.json, chat template). The
production loader then reads them from disk exactly as it reads a Hub snapshot.

Nothing is downloaded; the weights are random, so tests assert structure, not wording.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tokenizers import pre_tokenizers

SIZE = (
    32  # pixels; every tiny vision tower sees 32×32 (Qwen: 56..112 px in 14 px patches, Qwen3: 64..128 in 16)
)


def _byte_vocab(specials: list[str]) -> dict[str, int]:
    vocab = {token: i for i, token in enumerate(specials)}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab.setdefault(char, len(vocab))
    return vocab


def _save(model: torch.nn.Module, path: Path, *parts: object) -> Path:
    torch.manual_seed(0)
    model.save_pretrained(path)  # type: ignore[operator]
    for part in parts:
        part.save_pretrained(path)  # type: ignore[attr-defined]
    return path


def build_florence(path: Path) -> Path:
    from transformers import (
        BartTokenizer,
        CLIPImageProcessorPil,
        Florence2Config,
        Florence2ForConditionalGeneration,
    )

    tok = BartTokenizer(
        vocab=_byte_vocab(["<s>", "<pad>", "</s>", "<unk>"]) | {"<mask>": 260},
        merges=[],
        extra_special_tokens={"image_token": "<image>"},
    )
    tok.add_tokens([f"<loc_{i}>" for i in range(100)] + ["<od>", "</od>", "<ocr>", "</ocr>"])
    # two stages of stride 4 and 2: 32 px → 4×4 spatial tokens + 1 temporal = 17
    images = CLIPImageProcessorPil(
        size={"height": SIZE, "width": SIZE}, do_center_crop=False, image_seq_length=17
    )
    text = {
        "model_type": "bart", "vocab_size": len(tok), "d_model": 16, "max_position_embeddings": 128,
        "encoder_layers": 1, "decoder_layers": 1, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32,
        "encoder_attention_heads": 2, "decoder_attention_heads": 2, "bos_token_id": 0, "eos_token_id": 2,
        "pad_token_id": 1, "decoder_start_token_id": 2, "forced_eos_token_id": 2,
    }  # fmt: skip
    vision = {
        "depths": [1, 1], "patch_size": [7, 3], "patch_stride": [4, 2], "patch_padding": [3, 1],
        "patch_prenorm": [False, True], "embed_dim": [16, 16], "num_heads": [1, 1], "num_groups": [1, 1],
        "window_size": 4, "projection_dim": 16,
    }  # fmt: skip
    config = Florence2Config(text_config=text, vision_config=vision, image_token_id=tok.image_token_id)
    torch.manual_seed(0)
    model = Florence2ForConditionalGeneration(config)
    # random weights favour location tokens and spaces, which read as an empty caption;
    # the checkpoint's own generation config keeps them out, so the paragraph has text
    blank = [tok.convert_tokens_to_ids(t) for t in ("Ġ", "Ċ", "<od>", "</od>", "<ocr>", "</ocr>")]
    model.generation_config.suppress_tokens = list(range(tok.image_token_id + 1, len(tok))) + blank
    return _save(model, path, tok, images)


def _smol_tokenizer() -> Any:
    from transformers import GPT2Tokenizer

    tok = GPT2Tokenizer(
        vocab=_byte_vocab(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]),
        merges=[],
        unk_token="<|endoftext|>",
        bos_token="<|im_start|>",
        eos_token="<end_of_utterance>",
        pad_token="<|endoftext|>",
    )
    tok.add_tokens(
        ["<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"]
        + [f"<row_{r}_col_{c}>" for r in range(1, 5) for c in range(1, 5)],
        special_tokens=True,
    )
    return tok


def _smol_configs(tok: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    text = {
        "model_type": "llama", "vocab_size": len(tok), "hidden_size": 32, "intermediate_size": 64,
        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
        "max_position_embeddings": 512, "pad_token_id": 0, "bos_token_id": 1,
        "eos_token_id": tok.eos_token_id,
    }  # fmt: skip
    vision = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
              "image_size": SIZE, "patch_size": 8}  # fmt: skip
    return text, vision


def _build_smol(path: Path, config_class: Any, model_class: Any, image_processor_class: Any) -> Path:
    """SmolVLM's layout: a tiny Llama text model, a SigLIP vision tower, pixel shuffle by 2."""
    from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

    tok = _smol_tokenizer()
    images = image_processor_class(
        size={"longest_edge": 2 * SIZE}, max_image_size={"longest_edge": SIZE}, do_image_splitting=True
    )
    text, vision = _smol_configs(tok)
    config = config_class(
        text_config=text,
        vision_config=vision,
        scale_factor=2,
        image_token_id=tok.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(0)
    _save(model_class(config), path, tok, images)
    (path / "chat_template.jinja").write_text(DEFAULT_CHAT_TEMPLATE)
    return path


def build_smolvlm(path: Path) -> Path:
    """The Idefics3 architecture, as the SmolVLM-256M/500M-Instruct checkpoints are."""
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    return _build_smol(path, Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessorPil)


def build_smolvlm2(path: Path) -> Path:
    """transformers' SmolVLM architecture and image processor, as the SmolVLM2 checkpoints are."""
    from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMImageProcessorPil

    return _build_smol(path, SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMImageProcessorPil)


def _qwen_tokenizer() -> tuple[Any, dict[str, int]]:
    from transformers import Qwen2Tokenizer

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>"]
    specials += ["<|image_pad|>", "<|video_pad|>"]
    tok = Qwen2Tokenizer(
        vocab=_byte_vocab([]), merges=[], unk_token=None, bos_token=None, eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )  # fmt: skip
    tok.add_tokens(specials, special_tokens=True)
    return tok, {t: tok.convert_tokens_to_ids(t) for t in specials}


def _qwen_ids(ids: dict[str, int]) -> dict[str, int]:
    return {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }


def build_qwen(path: Path) -> Path:
    """Qwen2.5-VL, as Qwen2.5-VL-3B-Instruct is."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessorPil

    from describe.analyzers.vlm.qwen import FALLBACK_TEMPLATE

    tok, ids = _qwen_tokenizer()
    images = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112)
    text = {
        "vocab_size": len(tok), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
        "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 512,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2]},
        "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }  # fmt: skip
    vision = {
        "depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": 32,
        "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 56,
        "fullatt_block_indexes": [0],
    }  # fmt: skip
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_qwen_ids(ids))
    torch.manual_seed(0)
    _save(Qwen2_5_VLForConditionalGeneration(config), path, tok, images)
    (path / "chat_template.jinja").write_text(FALLBACK_TEMPLATE)
    return path


def build_qwen3(path: Path) -> Path:
    """Qwen3-VL, as Qwen3-VL-2B-Instruct is: 16 px patches, learned position embeddings
    interpolated to the grid, DeepStack features from a vision layer fed to the decoder,
    interleaved M-RoPE."""
    from transformers import Qwen2VLImageProcessorPil, Qwen3VLConfig, Qwen3VLForConditionalGeneration

    from describe.analyzers.vlm.qwen import FALLBACK_TEMPLATE

    tok, ids = _qwen_tokenizer()
    # the checkpoint's preprocessor_config.json names this class, with 16 px patches
    images = Qwen2VLImageProcessorPil(patch_size=16, min_pixels=64 * 64, max_pixels=128 * 128)
    text = {
        "vocab_size": len(tok), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
        "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16, "max_position_embeddings": 512,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2],
                            "mrope_interleaved": True},
        "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }  # fmt: skip
    vision = {
        "depth": 2, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2, "out_hidden_size": 32,
        "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2, "num_position_embeddings": 64,
        "deepstack_visual_indexes": [0],
    }  # fmt: skip
    config = Qwen3VLConfig(text_config=text, vision_config=vision, **_qwen_ids(ids))
    torch.manual_seed(0)
    _save(Qwen3VLForConditionalGeneration(config), path, tok, images)
    (path / "chat_template.jinja").write_text(FALLBACK_TEMPLATE)
    return path


def build_blip(path: Path) -> Path:
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessorPil

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz"]
    words += ["a", "cat", "dog", "on", "the", "red", "car", "photograph", "of"]
    tok = BertTokenizer(vocab={w: i for i, w in enumerate(words)}, bos_token="[DEC]")
    tok.add_special_tokens({"bos_token": "[DEC]"})
    images = BlipImageProcessorPil(size={"height": SIZE, "width": SIZE})
    text = {
        "vocab_size": len(tok), "hidden_size": 16, "encoder_hidden_size": 16, "intermediate_size": 32,
        "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 64,
        "bos_token_id": tok.bos_token_id, "eos_token_id": tok.sep_token_id, "pad_token_id": tok.pad_token_id,
        "sep_token_id": tok.sep_token_id,
    }  # fmt: skip
    vision = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
              "image_size": SIZE, "patch_size": 8}  # fmt: skip
    config = BlipConfig(text_config=text, vision_config=vision, projection_dim=16, image_text_hidden_size=16)
    torch.manual_seed(0)
    return _save(BlipForConditionalGeneration(config), path, tok, images)


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "florence": build_florence,
    "smolvlm": build_smolvlm,
    "smolvlm2": build_smolvlm2,
    "qwen": build_qwen,
    "qwen3": build_qwen3,
    "blip": build_blip,
}


def build_siglip2(path: Path) -> Path:
    """SigLIP 2 FixRes, as google/siglip2-base-patch16-224 is: transformers' SiglipModel
    (the FixRes checkpoints reuse SigLIP's architecture) with a Gemma tokenizer, padded to
    the text tower's full length as the model was trained."""
    import string

    from transformers import (
        GemmaTokenizer,
        SiglipConfig,
        SiglipImageProcessorPil,
        SiglipModel,
        SiglipProcessor,
    )

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    chars = ["▁", *string.ascii_lowercase, *string.digits, *".,'-!?&/()"]
    tok = GemmaTokenizer(vocab={t: i for i, t in enumerate(specials + chars)}, merges=[])
    tok.padding_side = "right"  # as the published tokenizer: the text tower pools the last position
    images = SiglipImageProcessorPil(size={"height": SIZE, "width": SIZE})
    text = {"vocab_size": len(tok), "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 64, "pad_token_id": 0, "eos_token_id": 1,
            "bos_token_id": 2, "projection_size": 16}  # fmt: skip
    vision = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
              "image_size": SIZE, "patch_size": 8}  # fmt: skip
    torch.manual_seed(0)
    model = SiglipModel(SiglipConfig(text_config=text, vision_config=vision))
    return _save(model, path, SiglipProcessor(image_processor=images, tokenizer=tok))
