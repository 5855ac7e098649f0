"""Florence-2 (base, large) through transformers' native Florence2ForConditionalGeneration.

Florence-2 is prompted with task tokens, not free text: `<MORE_DETAILED_CAPTION>`
(or `<CAPTION>` for profiles with a short length limit) writes the paragraph,
`<OD>` lists objects with boxes (they become tags), `<OCR>` reads text. The
image is encoded once and shared by every task's row of one batch: the DaViT
vision tower is most of the cost on a CPU, the tasks only add decoding steps.
`ground()` runs `<CAPTION_TO_PHRASE_GROUNDING>` for the prompt check
(describe/provenance/prompt_check.py): all of a prompt's phrases in one caption, one pass.

Options beyond the shared ones: `tasks` (extra tasks: "objects", "text";
default ["objects"]), `caption_task` (override the task token for the paragraph),
`quantize` ("int8", the CPU default, or "none").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import msgspec

from describe.analyzers.base import AnalyzerOptions
from describe.analyzers.vlm.base import VisionLanguageCaptioner, VLMOptions, clean
from describe.analyzers.vlm.catalog import CATALOG
from describe.facts import Box, Caption
from describe.intake import PreparedImage
from describe.registry import register

if TYPE_CHECKING:
    from describe.render.profiles import Profile

# The sentences Florence-2 was trained on for each task token (from its processor).
TASK_PROMPTS = {
    "<CAPTION>": "What does the image describe?",
    "<DETAILED_CAPTION>": "Describe in detail what is shown in the image.",
    "<MORE_DETAILED_CAPTION>": "Describe with a paragraph what is shown in the image.",
    "<OD>": "Locate the objects with category name in the image.",
    "<OCR>": "What is the text in the image?",
}
EXTRA_TASKS = {"objects": "<OD>", "text": "<OCR>"}
# Tokens each task may generate: a paragraph, a short caption, ~10 boxes, a sign's worth of text.
TASK_TOKENS = {
    "<CAPTION>": 32,
    "<DETAILED_CAPTION>": 64,
    "<MORE_DETAILED_CAPTION>": 96,
    "<OD>": 128,
    "<OCR>": 96,
}
GROUNDING = "<CAPTION_TO_PHRASE_GROUNDING>"
GROUNDING_PROMPT = "Locate the phrases in the caption: {}"  # the processor's wording for the task
# a phrase's words and one or two boxes of four location tokens each
GROUNDING_TOKENS_PER_PHRASE = 12
MAX_GROUNDING_TOKENS = 256
SHORT_PROFILE_CHARS = 200  # profiles limited to this many characters get <CAPTION>
LOC_BINS = 1000  # Florence quantises coordinates into 1000 bins per axis

_SPECIAL = re.compile(r"</?s>|<pad>|<unk>")
_LOC = re.compile(r"<loc_(\d+)>")
_REGION = re.compile(r"([^<>]*?)((?:<loc_\d+>){4,})")


class Region(NamedTuple):
    label: str
    box: Box  # normalised (x0, y0, x1, y1)


def parse_text(generated: str) -> str:
    """Plain text from a caption or <OCR> answer: special and location tokens dropped."""
    return clean(_LOC.sub("", _SPECIAL.sub("", generated)))


def parse_regions(generated: str) -> list[Region]:
    """`<OD>` output — "car<loc_52><loc_333><loc_932><loc_774>wheel<loc_…>×4…" — as
    labelled boxes; a label followed by several boxes names several instances."""
    text = _SPECIAL.sub("", generated)
    regions = []
    for label, locs in _REGION.findall(text):
        name = clean(label)
        bins = [int(b) for b in _LOC.findall(locs)]
        if not name:
            continue
        for i in range(0, len(bins) - 3, 4):
            x0, y0, x1, y1 = ((min(b, LOC_BINS - 1) + 0.5) / LOC_BINS for b in bins[i : i + 4])
            regions.append(Region(name, (round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4))))
    return regions


def object_names(regions: list[Region]) -> list[str]:
    """Distinct labels, first seen first (Florence lists the most salient first)."""
    return list(dict.fromkeys(r.label.lower() for r in regions))


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z0-9]+", text.lower()))


def match_phrases(regions: Sequence[Region], phrases: Sequence[str]) -> list[list[Box]]:
    """The grounded boxes of each phrase. Florence echoes the caption's words before each
    box, not always all of them ("red sofa" for "a red sofa"): a label belongs to the
    phrase it spells exactly, else to the one whose last word (the thing) it contains and
    with which it shares most words, the first such phrase on a tie."""
    wanted = [_words(p) for p in phrases]
    boxes: list[list[Box]] = [[] for _ in phrases]
    for region in regions:
        label = _words(region.label)
        exact = [i for i, words in enumerate(wanted) if words and words == label]
        heads = [i for i, words in enumerate(wanted) if words and words[-1] in label]
        best = exact or sorted(heads, key=lambda i: -len(set(wanted[i]) & set(label)))
        if best:
            boxes[best[0]].append(region.box)
    return boxes


class FlorenceOptions(VLMOptions):
    caption_task: str | None = None  # one of Florence-2's caption prompts, in place of the profile's choice
    tasks: list[str] = msgspec.field(default_factory=lambda: ["objects"])  # extra tasks run per image


class FlorenceCaptioner(VisionLanguageCaptioner):
    Options: ClassVar[type[AnalyzerOptions]] = FlorenceOptions
    opts: FlorenceOptions
    default_max_new_tokens = 96
    # 2.6x faster on a 2-core CPU (5.2 s → 2.05 s for 64 tokens), logits within 4 %
    # of fp32 and the same greedy tokens: the study in docs/CAPTIONERS.md
    default_quantize = "int8"

    def _load_model(self, path: Path) -> None:
        from transformers import AutoImageProcessor, AutoTokenizer, Florence2ForConditionalGeneration

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        # the PIL backend needs no torchvision
        self.image_processor = AutoImageProcessor.from_pretrained(path, backend="pil")
        self.model = self._from_pretrained(Florence2ForConditionalGeneration, path)
        # 577 for the published 768² input: 24×24 spatial tokens and one temporal
        self.image_tokens = int(getattr(self.image_processor, "image_seq_length", None) or 577)
        self.processor: Any = None  # for grounding answers; made on first use

    def tasks(self, profile: Profile | None) -> list[str]:
        limit = profile.max_length if profile is not None else None
        short = limit is not None and limit <= SHORT_PROFILE_CHARS
        default = "<CAPTION>" if short else "<MORE_DETAILED_CAPTION>"
        caption = self.opts.caption_task or default
        extra = self.opts.tasks
        return [caption] + [EXTRA_TASKS[t] for t in extra if t in EXTRA_TASKS]

    def preprocess(self, images: list[PreparedImage], profile: Profile | None) -> dict[str, Any]:
        tasks = self.tasks(profile)
        budget = max(TASK_TOKENS.get(t, self.default_max_new_tokens) for t in tasks)
        prompts = [(task, TASK_PROMPTS.get(task, task)) for task in tasks]
        return self._batch(
            images, prompts, budget if self.opts.max_new_tokens is None else self.opts.max_new_tokens
        )

    def _batch(
        self, images: list[PreparedImage], prompts: list[tuple[str, str]], max_new_tokens: int
    ) -> dict[str, Any]:
        """One row per image and (task, prompt text), each image's pixels encoded once."""
        import torch

        pixels = self.image_processor(images=[im.image for im in images], return_tensors="pt")["pixel_values"]
        tok = self.tokenizer
        image_token_id = int(self.model.config.image_token_id)
        rows, image_index, row_tasks = [], [], []
        for i in range(len(images)):
            for task, prompt in prompts:
                ids = tok(f"{tok.bos_token}{prompt}{tok.eos_token}", add_special_tokens=False)["input_ids"]
                rows.append([image_token_id] * self.image_tokens + list(ids))
                image_index.append(i)
                row_tasks.append(task)
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), int(tok.pad_token_id), dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for r, ids in enumerate(rows):
            input_ids[r, : len(ids)] = torch.tensor(ids)
            attention[r, : len(ids)] = 1
        return {
            "pixel_values": pixels,
            "input_ids": input_ids,
            "attention_mask": attention,
            "image_index": torch.tensor(image_index),
            "tasks": row_tasks,
            "max_new_tokens": max_new_tokens,
        }

    def forward(self, batch: dict[str, Any]) -> Any:
        # What Florence2Model.forward does, but with each image encoded once for all its tasks.
        model = self.model
        features = model.get_image_features(batch["pixel_values"]).pooler_output
        rows = features[batch["image_index"]]
        embeds = model.get_input_embeddings()(batch["input_ids"])
        mask = (batch["input_ids"] == model.config.image_token_id).unsqueeze(-1).expand_as(embeds)
        embeds = embeds.masked_scatter(mask, rows.to(embeds.dtype))
        encoded = model.model.get_encoder()(inputs_embeds=embeds, attention_mask=batch["attention_mask"])
        return model.generate(
            encoder_outputs=encoded,
            attention_mask=batch["attention_mask"],
            max_new_tokens=batch["max_new_tokens"],
            num_beams=self.num_beams,
            do_sample=False,
        )

    def postprocess(
        self, generated: Any, batch: dict[str, Any], images: list[PreparedImage]
    ) -> list[Caption]:
        # location tokens are added tokens: keep everything, strip specials ourselves
        texts = self.tokenizer.batch_decode(generated, skip_special_tokens=False)
        answers: list[dict[str, str]] = [{} for _ in images]
        for text, task, index in zip(texts, batch["tasks"], batch["image_index"].tolist(), strict=True):
            answers[index][task] = text
        captions = []
        for answer in answers:
            paragraph = next((parse_text(v) for k, v in answer.items() if k not in ("<OD>", "<OCR>")), "")
            objects = object_names(parse_regions(answer.get("<OD>", "")))
            captions.append(self.make_caption(paragraph, objects, parse_text(answer.get("<OCR>", ""))))
        return captions

    def ground(self, image: PreparedImage, phrases: Sequence[str]) -> list[list[Box]]:
        """Normalised boxes for each phrase ([] where Florence placed none), from one
        `<CAPTION_TO_PHRASE_GROUNDING>` pass given all the phrases as one caption. The
        image is encoded again: the caption's batch has gone by when the check runs."""
        import torch

        if not phrases:
            return []
        self.load()
        budget = min(MAX_GROUNDING_TOKENS, 8 + GROUNDING_TOKENS_PER_PHRASE * len(phrases))
        caption = GROUNDING_PROMPT.format(", ".join(phrases) + ".")
        batch = self._batch([image], [(GROUNDING, caption)], budget)
        with torch.inference_mode():
            generated = self.forward(self._to_device(batch))
        [text] = self.tokenizer.batch_decode(generated, skip_special_tokens=False)
        return match_phrases(self.grounded_regions(text), phrases)

    def grounded_regions(self, generated: str) -> list[Region]:
        """The grounding answer parsed by transformers' Florence-2 post-processor, with
        the checkpoint's own list of words never to ground ("it", "the image", …)."""
        # it returns whole pixels: on a grid 10× the bins that rounding loses nothing,
        # and the boxes come out as parse_regions' ((bin + 0.5) / 1000)
        grid = 10 * LOC_BINS
        parsed = self._processor().post_process_generation(generated, task=GROUNDING, image_size=(grid, grid))
        answer = parsed[GROUNDING]  # one label per box
        regions = []
        for label, (x0, y0, x1, y1) in zip(answer["labels"], answer["bboxes"], strict=True):
            regions.append(Region(label, (x0 / grid, y0 / grid, x1 / grid, y1 / grid)))
        return regions

    def _processor(self) -> Any:
        # built on first use from the loaded parts: captioning never needs it
        if self.processor is None:
            from transformers import Florence2Processor

            config: dict[str, Any] = {}
            saved = self.path / "processor_config.json" if self.path else None
            if saved is not None and saved.is_file():
                config = json.loads(saved.read_text(encoding="utf-8")).get("post_processor_config") or {}
            config.setdefault("phrase_grounding", {})  # a checkpoint without the file grounds every word
            self.processor = Florence2Processor(
                image_processor=self.image_processor, tokenizer=self.tokenizer, post_processor_config=config
            )
        return self.processor


@register("florence-2-base", "florence")
class Florence2Base(FlorenceCaptioner):
    name = "florence-2-base"
    spec = CATALOG[name]


@register("florence-2-large")
class Florence2Large(FlorenceCaptioner):
    name = "florence-2-large"
    spec = CATALOG[name]
