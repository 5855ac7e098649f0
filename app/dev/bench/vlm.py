"""Architecture cost of each vision-language captioner on this machine.

Each captioner's model is built from its published configuration (the values
of the checkpoint's config.json, written out below) with random weights, so
nothing is downloaded. One random 1024×1024 image goes through the family's
real image processor with the CPU defaults imgdesc uses, then through the
production forward() with a fixed number of new tokens (EOS suppressed).
The numbers are the cost of the architecture, not of the trained model: a real
checkpoint stops at its own EOS, which is usually earlier.

Run: `imgdesc models bench [NAMES] [--tokens 64] [--runs 3]`.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from app.dev.bench.vlm_configs import PUBLISHED, build_inputs
from describe import registry
from describe.analyzers.vlm.base import quantize_int8
from describe.analyzers.vlm.catalog import CATALOG

DEFAULT_NAMES = list(CATALOG)
FP32_MIN_FREE_GB = 4  # headroom kept free beyond the fp32 weights


def _free_gb() -> float:
    try:
        for line in open("/proc/meminfo").read().splitlines():  # noqa: PTH123, SIM115
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("inf")


def _captioner(name: str, new_tokens: int, threads: int) -> Any:
    """A production captioner with a random-weight model of the published shape."""
    import torch

    cls = registry.get(name, "captioner", "caption")
    captioner = cls(max_new_tokens=new_tokens, threads=threads, device="cpu")
    config = PUBLISHED[name]()
    params_gb = CATALOG[name].params_m * 4 / 1000
    # a model that cannot fit in fp32 here is measured in bfloat16, and labelled so
    dtype = torch.float32 if _free_gb() > params_gb + FP32_MIN_FREE_GB else torch.bfloat16
    torch.set_num_threads(threads)
    model = _random_model(name, config, dtype)
    model.generation_config.min_new_tokens = new_tokens  # a fixed amount of decoding
    model.generation_config.max_new_tokens = new_tokens
    label = str(dtype).removeprefix("torch.")
    captioner.params = sum(p.numel() for p in model.parameters())  # before int8 packs the weights
    if captioner.quantize == "int8":  # what the captioner does on a CPU after loading
        model, label = quantize_int8(model), "int8 dynamic"
    captioner.model, captioner.device, captioner.dtype = model, "cpu", dtype
    captioner.precision = label
    return captioner  # never load(): forward() needs only the model set above


def _on_cpu(batch: dict[str, Any], dtype: Any) -> dict[str, Any]:
    """The batch as the captioner's load would have placed it: floating tensors in its dtype."""
    import torch

    return {
        key: value.to(dtype) if isinstance(value, torch.Tensor) and value.is_floating_point() else value
        for key, value in batch.items()
    }


def _random_model(name: str, config: Any, dtype: Any) -> Any:
    import torch
    from transformers import AutoModelForImageTextToText, BlipForConditionalGeneration

    family = CATALOG[name].family
    cls: Any = BlipForConditionalGeneration if family == "blip" else AutoModelForImageTextToText
    if family != "blip":
        config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    with torch.device("cpu"):
        model = (
            cls.from_config(config, dtype=dtype) if cls is not BlipForConditionalGeneration else cls(config)
        )
    return model.to(dtype).eval()


class _Clock:
    """A logits processor that changes nothing and notes when each step's logits
    arrive: the first note is the first token, so one run gives both numbers."""

    def __init__(self) -> None:
        self.steps: list[float] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.steps.append(time.perf_counter())
        return scores


def measure(name: str, new_tokens: int = 64, runs: int = 3, threads: int | None = None) -> dict[str, Any]:
    import torch
    from transformers import LogitsProcessorList

    threads = threads or int(os.environ.get("IMGDESC_THREADS", os.cpu_count() or 2))
    torch.set_flush_denormal(True)  # random weights must not fall into slow denormal arithmetic
    captioner = _captioner(name, new_tokens, threads)
    image = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    clock = _Clock()
    generate = captioner.model.generate
    captioner.model.generate = lambda *a, **k: generate(
        *a, logits_processor=LogitsProcessorList([clock]), **k
    )

    def once() -> tuple[float, float]:
        clock.steps.clear()
        start = time.perf_counter()
        batch = build_inputs(captioner, image, new_tokens)  # the image processor's time counts
        with torch.inference_mode():
            captioner.forward(_on_cpu(batch, captioner.dtype))
        return clock.steps[0] - start, time.perf_counter() - start

    once()  # warm-up: first calls allocate and pick kernels
    timed = sorted(once() for _ in range(runs))
    best_first, best_total = min(timed, key=lambda t: t[1])
    result = {
        "name": name,
        "params_m": round(captioner.params / 1e6),
        "dtype": captioner.precision,
        "first_token_s": round(best_first, 2),
        "total_s": round(best_total, 2),
        "median_total_s": round(statistics.median(t for _, t in timed), 2),
        "ms_per_token": round((best_total - best_first) / max(1, new_tokens - 1) * 1000, 1),
        "tokens_per_s": round(new_tokens / best_total, 1),
    }
    captioner.model = None  # free the weights before the next, larger model is built
    gc.collect()
    return result


def table(results: list[dict[str, Any]], new_tokens: int, runs: int) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        f"Architecture cost per 1024² image, {new_tokens} new tokens, random weights, "
        f"{os.cpu_count()} cores ({cpu}), best of {runs} (median in brackets).",
        "",
        "| captioner | params | dtype | first token | total | per token | tokens/s |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['params_m']} M | {r['dtype']} | {r['first_token_s']:.2f} s | "
            f"{r['total_s']:.2f} s ({r['median_total_s']:.2f}) | {r['ms_per_token']:.0f} ms | "
            f"{r['tokens_per_s']:.1f} |"
        )
    return "\n".join(lines)


def run(
    names: list[str] | None = None,
    new_tokens: int = 64,
    runs: int = 3,
    log: Callable[[str], None] | None = None,
) -> str:
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    results = []
    for name in names or DEFAULT_NAMES:
        say(f"measuring {name} ...")
        results.append(measure(name, new_tokens, runs))
        say(f"  {results[-1]}")
    return table(results, new_tokens, runs)
