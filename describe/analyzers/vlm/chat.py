"""What the instruction-tuned captioners (SmolVLM, Qwen2.5-VL) share: a chat
template read from the checkpoint, one user turn with an image and the
profile's prompt, left padding, and decoding only the new tokens.

The processors in transformers also bundle a video processor that needs
torchvision; the PIL image processor and the tokenizer are all a still image
needs, so these captioners assemble the prompt themselves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from describe.analyzers.vlm.base import VisionLanguageCaptioner, clean
from describe.facts import Caption
from describe.intake import PreparedImage

if TYPE_CHECKING:
    from describe.render.profiles import Profile


def read_chat_template(path: Path, tokenizer: Any, fallback: str) -> str:
    """The checkpoint's chat template: chat_template.jinja, chat_template.json, the
    tokenizer's own, else the family's known default."""
    jinja = path / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text()
    packed = path / "chat_template.json"
    if packed.is_file():
        template = json.loads(packed.read_text()).get("chat_template")
        if isinstance(template, str):
            return template
    own = getattr(tokenizer, "chat_template", None)
    return own if isinstance(own, str) and own else fallback


class ChatCaptioner(VisionLanguageCaptioner):
    image_placeholder = "<image>"
    default_max_new_tokens = 96

    def _load_model(self, path: Path) -> None:
        from transformers import AutoImageProcessor, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.image_processor = AutoImageProcessor.from_pretrained(path, backend="pil")
        self.chat_template = read_chat_template(path, self.tokenizer, self.fallback_template())
        self.model = self._load_chat_model(path)

    def _load_chat_model(self, path: Path) -> Any:
        from transformers import AutoModelForImageTextToText

        return self._from_pretrained(AutoModelForImageTextToText, path)

    def fallback_template(self) -> str:
        raise NotImplementedError

    def chat_text(self, profile: Profile | None) -> str:
        content = [{"type": "image"}, {"type": "text", "text": self.prompt(profile)}]
        messages: Any = [{"role": "user", "content": content}]
        text = self.tokenizer.apply_chat_template(
            messages, chat_template=self.chat_template, tokenize=False, add_generation_prompt=True
        )
        return str(text)

    def tokenize(self, texts: list[str]) -> dict[str, Any]:
        # left padding: every row's generation then starts at the same position
        return dict(
            self.tokenizer(
                texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
            )
        )

    def generate(self, batch: dict[str, Any], **inputs: Any) -> Any:
        out = self.model.generate(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            max_new_tokens=self.max_new_tokens,
            num_beams=self.num_beams,
            do_sample=False,
            **inputs,
        )
        return out[:, batch["input_ids"].shape[1] :]

    def postprocess(
        self, generated: Any, batch: dict[str, Any], images: list[PreparedImage]
    ) -> list[Caption]:
        texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        return [self.make_caption(clean(t)) for t in texts]
