"""SmolVLM Instruct (256M, 500M) and SmolVLM2 (500M): small instruction-following
VLMs; the prompt comes from the active profile, so a profile can ask for colours,
composition or a product-listing style.

The SmolVLM checkpoints are the Idefics3 architecture (SigLIP encoder, pixel
shuffle, SmolLM2 decoder), SmolVLM2's are transformers' SmolVLM architecture
(the same layers, retrained on more image and video data); both take the same
image processing and prompt layout, and AutoModelForImageTextToText picks the
class from the checkpoint's config. On a CPU the image is not split into 512 px tiles
(one global view: 64 image tokens instead of up to 1,088); `split_image`
turns tiling on, and it is on by default on a GPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from describe.analyzers.base import AnalyzerOptions
from describe.analyzers.vlm.base import VLMOptions
from describe.analyzers.vlm.catalog import CATALOG
from describe.analyzers.vlm.chat import ChatCaptioner
from describe.intake import PreparedImage
from describe.registry import register

if TYPE_CHECKING:
    from describe.render.profiles import Profile


class SmolVLMOptions(VLMOptions):
    split_image: bool | None = None  # tile the image at 512 px; None: on a GPU only


class SmolVLMCaptioner(ChatCaptioner):
    Options: ClassVar[type[AnalyzerOptions]] = SmolVLMOptions
    opts: SmolVLMOptions

    def fallback_template(self) -> str:
        from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE

        return DEFAULT_CHAT_TEMPLATE

    @property
    def image_seq_len(self) -> int:
        """Tokens per image tile: (image_size / patch_size)² patches, pixel-shuffled by scale_factor²."""
        config = self.model.config
        vision = config.vision_config
        return int((vision.image_size // vision.patch_size) ** 2 / config.scale_factor**2)

    @property
    def split_image(self) -> bool:
        split: bool | None = self.opts.split_image
        return self.device.startswith("cuda") if split is None else split

    def preprocess(self, images: list[PreparedImage], profile: Profile | None) -> dict[str, Any]:
        from transformers.models.smolvlm.processing_smolvlm import get_image_prompt_string

        pixels = self.image_processor(
            images=[[im.image] for im in images],
            return_tensors="pt",
            return_row_col_info=True,
            do_image_splitting=self.split_image,
        )
        chat = self.chat_text(profile)
        tok = self.tokenizer
        texts = []
        for rows, cols in zip(pixels["rows"], pixels["cols"], strict=True):
            expanded = get_image_prompt_string(
                rows[0],
                cols[0],
                self.image_seq_len,
                fake_token_around_image=getattr(tok, "fake_image_token", "<fake_token_around_image>"),
                image_token=getattr(tok, "image_token", "<image>"),
                global_image_token=getattr(tok, "global_image_token", "<global-img>"),
            )
            texts.append(chat.replace(self.image_placeholder, expanded, 1))
        return {
            **self.tokenize(texts),
            "pixel_values": pixels["pixel_values"],
            "pixel_attention_mask": pixels["pixel_attention_mask"],
        }

    def forward(self, batch: dict[str, Any]) -> Any:
        return self.generate(
            batch, pixel_values=batch["pixel_values"], pixel_attention_mask=batch["pixel_attention_mask"]
        )


@register("smolvlm-256m", "smolvlm")
class SmolVLM256M(SmolVLMCaptioner):
    name = "smolvlm-256m"
    spec = CATALOG[name]


@register("smolvlm-500m")
class SmolVLM500M(SmolVLMCaptioner):
    name = "smolvlm-500m"
    spec = CATALOG[name]


@register("smolvlm2-500m", "smolvlm2")
class SmolVLM2500M(SmolVLMCaptioner):
    name = "smolvlm2-500m"
    spec = CATALOG[name]
