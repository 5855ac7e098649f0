"""The Florence-2-base CPU optimisation study: each step's latency and output drift.

Florence-2-base's published architecture with random weights, one 768² image
(what a 1024² photo becomes), a 12-token prompt and 64 new tokens, greedy.
All variants share one set of weights (the int8 ones are quantised copies) and
are measured in turn, round after round, so background load hits them alike.
Each is compared with the fp32 SDPA reference on the same input: relative
error of the image features and of the teacher-forced decoder logits, top-1
agreement of those logits, and how many of the 64 greedy tokens match. Random
weights make logits flatter than a trained model's, so agreement here is a
pessimistic proxy for drift.

Run: `imgdesc bench florence [VARIANT ...] [--runs N]` (all variants by default);
with `--model FOLDER [--image PHOTO]` the trained Florence-2-base weights are used and
the drift columns measure real quality (the decoded captions go to stderr).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

VARIANTS = {
    "eager": "fp32, eager attention (transformers' default before SDPA)",
    "sdpa": "fp32, SDPA attention (imgdesc's default)",
    "static-cache": "SDPA + static KV cache",
    "bf16": "SDPA + bfloat16 autocast (AVX512-BF16)",
    "int8-decoder": "SDPA + int8 dynamic quantisation of the decoder and LM head",
    "int8-all": "SDPA + int8 dynamic quantisation of every Linear layer",
}
NEW_TOKENS = 64


def _models(variants: list[str], checkpoint: str | None = None) -> dict[str, Any]:
    """The fp32 model (eager, SDPA, static cache and bf16 only switch how it runs) and
    int8 copies of it, so every variant has exactly the same weights. With a
    checkpoint folder, its trained weights: then the drift columns measure quality."""
    import copy

    import torch
    from torch.ao.quantization import quantize_dynamic
    from transformers import Florence2ForConditionalGeneration

    from app.dev.bench.vlm_configs import florence

    torch.manual_seed(0)
    if checkpoint:
        fp32 = Florence2ForConditionalGeneration.from_pretrained(
            checkpoint, attn_implementation="sdpa"
        ).eval()
    else:
        config = florence(large=False)
        config._attn_implementation = "sdpa"
        fp32 = Florence2ForConditionalGeneration(config).eval()
    models = {"fp32": fp32}
    if "int8-all" in variants:
        models["int8-all"] = quantize_dynamic(copy.deepcopy(fp32), {torch.nn.Linear}, dtype=torch.qint8)
    if "int8-decoder" in variants:
        partial = copy.deepcopy(fp32)
        lm = partial.model.language_model
        lm.decoder = quantize_dynamic(lm.decoder, {torch.nn.Linear}, dtype=torch.qint8)
        partial.lm_head = quantize_dynamic(torch.nn.Sequential(partial.lm_head), {torch.nn.Linear})[0]
        models["int8-decoder"] = partial
    return models


def _inputs(checkpoint: str | None = None, image: str | None = None) -> dict[str, Any]:
    """Random pixels and placeholder prompt ids; with a checkpoint, its own processor,
    the <MORE_DETAILED_CAPTION> prompt and a real photo (`image`, else a gradient)."""
    import torch

    if not checkpoint:
        generator = torch.Generator().manual_seed(1)
        ids = torch.tensor([[51289] * 577 + [0, *range(1000, 1012), 2]])
        pixels = torch.randn(1, 3, 768, 768, generator=generator)
        return {"pixel_values": pixels, "input_ids": ids, "attention_mask": torch.ones_like(ids)}
    import numpy as np
    from PIL import Image
    from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer

    from describe.analyzers.vlm.florence import TASK_PROMPTS

    tok = AutoTokenizer.from_pretrained(checkpoint)
    processor = AutoImageProcessor.from_pretrained(checkpoint, backend="pil")
    ramp = np.linspace(0, 255, 1024, dtype=np.uint8)
    photo = (
        Image.open(image).convert("RGB")
        if image
        else Image.fromarray(np.dstack([np.tile(ramp, (1024, 1))] * 3))
    )
    prompt = f"{tok.bos_token}{TASK_PROMPTS['<MORE_DETAILED_CAPTION>']}{tok.eos_token}"
    text = tok(prompt, add_special_tokens=False)["input_ids"]
    image_token = AutoConfig.from_pretrained(checkpoint).image_token_id
    ids = torch.tensor([[image_token] * int(processor.image_seq_length) + list(text)])
    pixels = processor(images=[photo], return_tensors="pt")["pixel_values"]
    return {"pixel_values": pixels, "input_ids": ids, "attention_mask": torch.ones_like(ids)}


class Variant:
    def __init__(self, name: str, models: dict[str, Any], inputs: dict[str, Any]) -> None:
        self.name = name
        self.model = models.get(name, models["fp32"])
        self.inputs = inputs
        self.kwargs: dict[str, Any] = {"do_sample": False, "num_beams": 1}
        if name == "static-cache":
            self.kwargs["cache_implementation"] = "static"
        self.first: list[float] = []
        self.total: list[float] = []
        self.cpu: list[float] = []
        self.out: Any = None

    def context(self) -> Any:
        import contextlib

        import torch

        self.model.set_attn_implementation("eager" if self.name == "eager" else "sdpa")
        bf16 = self.name == "bf16"
        return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def generate(self, tokens: int) -> tuple[float, float]:
        import torch

        wall, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode(), self.context():
            self.out = self.model.generate(
                **self.inputs, max_new_tokens=tokens, min_new_tokens=tokens, **self.kwargs
            )
        return time.perf_counter() - wall, time.process_time() - cpu

    def measure(self) -> None:
        self.first.append(self.generate(1)[0])
        wall, cpu = self.generate(NEW_TOKENS)
        self.total.append(wall)
        self.cpu.append(cpu)

    def outputs(self, tokens: Any) -> tuple[Any, Any]:
        """Image features, and decoder logits teacher-forced on `tokens`."""
        import torch

        with torch.inference_mode(), self.context():
            features = self.model.model.get_image_features(self.inputs["pixel_values"]).pooler_output.float()
            logits = self.model(**self.inputs, decoder_input_ids=tokens).logits.float()
        return features, logits


def study(
    variants: list[str],
    runs: int = 5,
    threads: int = 2,
    checkpoint: str | None = None,
    image: str | None = None,
) -> str:
    """Variants measured in turn, round after round, so that a burst of load from
    other processes hits all of them alike; each keeps its best time."""
    import torch

    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)  # random weights must not fall into slow denormal arithmetic
    names = ["sdpa", *[v for v in variants if v != "sdpa"]]
    models, inputs = _models(names, checkpoint), _inputs(checkpoint, image)
    chosen = [Variant(name, models, inputs) for name in names]
    for variant in chosen:
        variant.generate(2)  # warm-up
    for round_ in range(runs):
        for variant in chosen:
            variant.measure()
        print(f"round {round_ + 1}/{runs}: " + ", ".join(f"{v.name} {v.total[-1]:.1f}s" for v in chosen),
              file=sys.stderr, flush=True)  # fmt: skip
    reference = chosen[0]
    ref_features, ref_logits = reference.outputs(reference.out)
    rows = []
    for variant in chosen:
        features, logits = variant.outputs(reference.out)
        best_first, best_total = min(variant.first), min(variant.total)
        rows.append({
            "variant": variant.name,
            "first_token_s": round(best_first, 2),
            "total_s": round(best_total, 2),
            "median_total_s": round(statistics.median(variant.total), 2),
            "cpu_s": round(min(variant.cpu), 2),
            "ms_per_token": round((best_total - best_first) / (NEW_TOKENS - 1) * 1000, 1),
            "tokens_per_s": round(NEW_TOKENS / best_total, 1),
            "feature_rel_err": _rel(features, ref_features),
            "logit_rel_err": _rel(logits, ref_logits),
            "top1_agree": round(float((logits.argmax(-1) == ref_logits.argmax(-1)).float().mean()), 3),
            "greedy_match": int((variant.out[0] == reference.out[0]).cumprod(0).sum()) - 1,
        })  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        if checkpoint:  # with trained weights, show what each variant actually wrote
            from transformers import AutoTokenizer

            text = AutoTokenizer.from_pretrained(checkpoint).decode(variant.out[0], skip_special_tokens=True)
            print(f"  {variant.name}: {text}", file=sys.stderr, flush=True)
    return table(rows, runs, threads)


def _rel(a: Any, b: Any) -> float:
    return round(float((a - b).norm() / b.norm()), 5)


def table(rows: list[dict[str, Any]], runs: int, threads: int) -> str:
    lines = [
        f"Florence-2-base architecture, random weights, 768² input, {NEW_TOKENS} new tokens, greedy, "
        f"{threads} threads, best of {runs} (median total in brackets).",
        "",
        "| variant | first token | total | per token | tokens/s | CPU s "
        "| logit rel. err | top-1 agree | greedy match |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {VARIANTS[r['variant']]} | {r['first_token_s']:.2f} s | {r['total_s']:.2f} s "
            f"({r['median_total_s']:.2f}) | {r['ms_per_token']:.0f} ms | {r['tokens_per_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {r['logit_rel_err']:.4f} | {r['top1_agree']:.1%} | "
            f"{r['greedy_match']}/{NEW_TOKENS} |"
        )
    return "\n".join(lines)
