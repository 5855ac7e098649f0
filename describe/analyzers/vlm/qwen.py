"""Qwen2.5-VL 3B Instruct: the quality option, for a GPU.

Qwen2.5-VL sees images at their own resolution, one token per 28×28 pixels, so
cost grows with the image. The pixels are capped (`max_pixels`, default 448²
on a GPU — about 256 image tokens — and 336² on a CPU) so a 1024² image costs
the same as any other. The prompt comes from the active profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from describe.analyzers.vlm.catalog import CATALOG
from describe.analyzers.vlm.chat import ChatCaptioner
from describe.intake import PreparedImage
from describe.registry import register

if TYPE_CHECKING:
    from describe.profiles import Profile

# Qwen's own template for one user turn, for checkpoints saved without one.
FALLBACK_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
GPU_MAX_PIXELS = 448 * 448
CPU_MAX_PIXELS = 336 * 336
MIN_PIXELS = 56 * 56


class QwenVLCaptioner(ChatCaptioner):
    image_placeholder = "<|image_pad|>"

    def _load_chat_model(self, path: Path) -> Any:
        from transformers import Qwen2_5_VLForConditionalGeneration

        return self._from_pretrained(Qwen2_5_VLForConditionalGeneration, path)

    def fallback_template(self) -> str:
        return FALLBACK_TEMPLATE

    @property
    def max_pixels(self) -> int:
        default = GPU_MAX_PIXELS if self.device.startswith("cuda") else CPU_MAX_PIXELS
        return int(self.options.get("max_pixels", default))

    def preprocess(self, images: list[PreparedImage], profile: Profile | None) -> dict[str, Any]:
        pixels = self.image_processor(
            images=[im.image for im in images],
            return_tensors="pt",
            size={"shortest_edge": MIN_PIXELS, "longest_edge": self.max_pixels},
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
            batch, pixel_values=batch["pixel_values"], image_grid_thw=batch["image_grid_thw"]
        )


@register("qwen2.5-vl-3b", "qwen")
class Qwen25VL3B(QwenVLCaptioner):
    name = "qwen2.5-vl-3b"
    spec = CATALOG[name]
