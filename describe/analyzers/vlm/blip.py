"""BLIP image captioning (base, large): one short sentence per image, the classic
baseline. BLIP takes no instructions, so the profile's prompt is not used; a
`prefix` option ("a photograph of") conditions the caption instead."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from describe.analyzers.base import AnalyzerOptions
from describe.analyzers.vlm.base import VisionLanguageCaptioner, VLMOptions, clean
from describe.analyzers.vlm.catalog import CATALOG
from describe.facts import Caption
from describe.intake import PreparedImage
from describe.registry import register

if TYPE_CHECKING:
    from describe.render.profiles import Profile


class BlipOptions(VLMOptions):
    prefix: str = ""  # text the caption starts from (conditional captioning)


class BlipCaptioner(VisionLanguageCaptioner):
    Options: ClassVar[type[AnalyzerOptions]] = BlipOptions
    opts: BlipOptions
    default_max_new_tokens = 30
    attn_implementation = None  # BLIP's attention has no SDPA path in transformers 5

    def _load_model(self, path: Path) -> None:
        from transformers import AutoImageProcessor, AutoTokenizer, BlipForConditionalGeneration

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.image_processor = AutoImageProcessor.from_pretrained(path, backend="pil")
        self.model = self._from_pretrained(BlipForConditionalGeneration, path)

    def preprocess(self, images: list[PreparedImage], profile: Profile | None) -> dict[str, Any]:
        batch: dict[str, Any] = {
            "pixel_values": self.image_processor(images=[im.image for im in images], return_tensors="pt")[
                "pixel_values"
            ]
        }
        prefix = self.opts.prefix.strip()
        if prefix:
            # BLIP's generate swaps [CLS] for its [DEC] token and drops the trailing [SEP]
            batch["input_ids"] = self.tokenizer([prefix] * len(images), return_tensors="pt")["input_ids"]
        return batch

    def forward(self, batch: dict[str, Any]) -> Any:
        return self.model.generate(
            pixel_values=batch["pixel_values"],
            input_ids=batch.get("input_ids"),
            max_new_tokens=self.max_new_tokens,
            num_beams=self.num_beams,
            do_sample=False,
        )

    def postprocess(
        self, generated: Any, batch: dict[str, Any], images: list[PreparedImage]
    ) -> list[Caption]:
        return [
            self.make_caption(clean(t))
            for t in self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        ]


@register("blip-base", "blip")
class BlipBase(BlipCaptioner):
    name = "blip-base"
    spec = CATALOG[name]


@register("blip-large")
class BlipLarge(BlipCaptioner):
    name = "blip-large"
    spec = CATALOG[name]
