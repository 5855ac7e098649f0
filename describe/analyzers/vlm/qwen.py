"""Qwen-VL Instruct: Qwen3-VL 2B (the quality option, Apache-2.0) and Qwen2.5-VL 3B
(kept for existing set-ups; its Qwen Research licence forbids commercial use).

Both see images at their own resolution: one image token per 28×28 pixels for
Qwen2.5-VL (14 px patches), per 32×32 for Qwen3-VL (16 px patches), each 2×2
patches merged into one token. The pixels are capped (`max_pixels`) so that a
1024² photo costs the same as any other: 256 image tokens on a GPU and 144 on
a CPU for both models. The prompt comes from the active profile.

Image tokens get 2-D positions (M-RoPE) only when the model is told which
tokens are image tokens (`mm_token_type_ids`, which transformers' own processor
adds); without it the model falls back to 1-D positions and reads the image as
a line of tokens, so forward() always passes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from describe.analyzers.base import AnalyzerOptions
from describe.analyzers.vlm.base import VLMOptions
from describe.analyzers.vlm.catalog import CATALOG
from describe.analyzers.vlm.chat import ChatCaptioner
from describe.intake import PreparedImage
from describe.registry import register

if TYPE_CHECKING:
    from describe.render.profiles import Profile

# Qwen's own template for one user turn, for checkpoints saved without one
# (Qwen2.5-VL and Qwen3-VL Instruct mark an image the same way).
FALLBACK_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
IMAGE_TOKEN_TYPE = 1  # transformers' modality ids: 0 text, 1 image, 2 video
# Pixel caps per image token budget: 256 tokens on a GPU, 144 on a CPU.
GPU_MAX_PIXELS = 448 * 448
CPU_MAX_PIXELS = 336 * 336
MIN_PIXELS = 56 * 56


class QwenOptions(VLMOptions):
    max_pixels: int | None = None  # the image budget in pixels; None: the device's default


class QwenVLCaptioner(ChatCaptioner):
    Options: ClassVar[type[AnalyzerOptions]] = QwenOptions
    opts: QwenOptions
    image_placeholder = "<|image_pad|>"
    #: transformers' class for the checkpoint's architecture (named, so the import stays lazy)
    model_class: ClassVar[str]
    gpu_max_pixels: ClassVar[int] = GPU_MAX_PIXELS
    cpu_max_pixels: ClassVar[int] = CPU_MAX_PIXELS
    min_pixels: ClassVar[int] = MIN_PIXELS

    def _load_chat_model(self, path: Path) -> Any:
        import transformers

        return self._from_pretrained(getattr(transformers, self.model_class), path)

    def fallback_template(self) -> str:
        return FALLBACK_TEMPLATE

    @property
    def max_pixels(self) -> int:
        default = self.gpu_max_pixels if self.device.startswith("cuda") else self.cpu_max_pixels
        return default if self.opts.max_pixels is None else self.opts.max_pixels

    def preprocess(self, images: list[PreparedImage], profile: Profile | None) -> dict[str, Any]:
        pixels = self.image_processor(
            images=[im.image for im in images],
            return_tensors="pt",
            size={"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels},
        )
        merge = int(self.image_processor.merge_size) ** 2
        chat = self.chat_text(profile)
        texts = [
            chat.replace(self.image_placeholder, self.image_placeholder * (int(grid.prod()) // merge), 1)
            for grid in pixels["image_grid_thw"]
        ]
        return {
            **self.tokenize(texts),
            "pixel_values": pixels["pixel_values"],
            "image_grid_thw": pixels["image_grid_thw"],
        }

    def forward(self, batch: dict[str, Any]) -> Any:
        return self.generate(
            batch,
            pixel_values=batch["pixel_values"],
            image_grid_thw=batch["image_grid_thw"],
            mm_token_type_ids=self.token_types(batch["input_ids"]),
        )

    def token_types(self, input_ids: Any) -> Any:
        """Which tokens are image tokens, as M-RoPE needs to know (text 0, image 1)."""
        return (input_ids == self.model.config.image_token_id).long() * IMAGE_TOKEN_TYPE


@register("qwen3-vl-2b", "qwen3-vl")
class Qwen3VL2B(QwenVLCaptioner):
    name = "qwen3-vl-2b"
    spec = CATALOG[name]
    model_class = "Qwen3VLForConditionalGeneration"
    # 16 px patches: 512² and 384² give Qwen2.5-VL's token budgets (256 and 144)
    gpu_max_pixels = 512 * 512
    cpu_max_pixels = 384 * 384
    min_pixels = 64 * 64


@register("qwen2.5-vl-3b", "qwen")  # "qwen" kept for existing settings
class Qwen25VL3B(QwenVLCaptioner):
    name = "qwen2.5-vl-3b"
    spec = CATALOG[name]
    model_class = "Qwen2_5_VLForConditionalGeneration"
