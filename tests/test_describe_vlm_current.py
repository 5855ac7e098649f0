"""The current generation of small VLMs (Qwen3-VL-2B, SmolVLM2-500M) beside the ones
they succeed: tiny random-weight checkpoints of their real architectures, built
here, loaded through the registry from a folder or the Hugging Face cache, and
the offline fallback when their weights are missing. End-to-end and batch
captioning of every catalog entry is in test_describe_vlm_models.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from describe import registry
from describe.analyzers.vlm.catalog import CATALOG
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.errors import ModelError
from describe.facts import Facts
from describe.intake import IntakeLimits, load_image
from tests import vlm_tiny
from tests.conftest import encode
from tests.fakes import FAKE_USE

pytestmark = pytest.mark.slow

NEW = ("qwen3-vl-2b", "smolvlm2-500m")
ARCHITECTURES = {
    "qwen3-vl-2b": "Qwen3VLForConditionalGeneration",
    "smolvlm2-500m": "SmolVLMForConditionalGeneration",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-current")
    families = {CATALOG[name].family for name in (*NEW, "qwen2.5-vl-3b")}
    return {family: vlm_tiny.BUILDERS[family](root / family) for family in families}


def image(width: int, height: int, seed: int = 0) -> object:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return load_image(encode(pixels), IntakeLimits(), name=f"{seed}.png")


def captioner(name: str, folder: Path, **options: object) -> object:
    return registry.create(name, "captioner", "caption", model=str(folder), max_new_tokens=4, **options)


def test_the_catalog_says_who_may_use_what() -> None:
    assert CATALOG["qwen3-vl-2b"].licence == "Apache-2.0"
    assert CATALOG["smolvlm2-500m"].licence == "Apache-2.0"
    old = CATALOG["qwen2.5-vl-3b"]
    assert "non-commercial" in old.licence and "qwen3-vl-2b" in old.summary
    # the short names people type reach the new models; "qwen" stays where settings expect it
    assert registry.get("qwen3-vl", "captioner", "caption").name == "qwen3-vl-2b"  # type: ignore[attr-defined]
    assert registry.get("smolvlm2", "captioner", "caption").name == "smolvlm2-500m"  # type: ignore[attr-defined]
    assert registry.get("qwen", "captioner", "caption").name == "qwen2.5-vl-3b"  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", NEW)
def test_loads_the_real_architecture_from_a_folder(name: str, tiny: dict[str, Path]) -> None:
    folder = tiny[CATALOG[name].family]
    assert json.loads((folder / "config.json").read_text())["architectures"] == [ARCHITECTURES[name]]
    model = captioner(name, folder)
    model.load()  # type: ignore[attr-defined]
    assert type(model.model).__name__ == ARCHITECTURES[name]  # type: ignore[attr-defined]
    assert model.device == "cpu" and str(model.dtype) == "torch.float32"  # type: ignore[attr-defined]
    [caption] = model.caption([image(90, 60)], [Facts(width=90, height=60)], None)  # type: ignore[attr-defined]
    assert caption.source in (name, "classic") and caption.text and "\n" not in caption.text


@pytest.mark.parametrize(("name", "patch"), [("qwen3-vl-2b", 32), ("qwen2.5-vl-3b", 28)])
def test_qwen_image_tokens_and_their_2d_positions(name: str, patch: int, tiny: dict[str, Path]) -> None:
    model = captioner(name, tiny[CATALOG[name].family])
    model.load()  # type: ignore[attr-defined]
    # a 1024² photo is capped to the same 144-token budget on a CPU for both models:
    # 12×12 tokens of 32 px (384²) for Qwen3-VL, of 28 px (336²) for Qwen2.5-VL
    big = model.preprocess([image(1024, 1024)], None)  # type: ignore[attr-defined]
    assert big["image_grid_thw"].tolist() == [[1, 24, 24]] and model.max_pixels == (12 * patch) ** 2  # type: ignore[attr-defined]
    batch = model.preprocess([image(90, 60, 1), image(200, 64, 2)], None)  # type: ignore[attr-defined]
    pad = model.tokenizer.convert_tokens_to_ids("<|image_pad|>")  # type: ignore[attr-defined]
    marked = model.token_types(batch["input_ids"])  # type: ignore[attr-defined]
    assert (marked == 1).equal(batch["input_ids"] == pad) and set(marked.unique().tolist()) == {0, 1}
    assert marked.sum(dim=1).tolist() == [int(g.prod()) // 4 for g in batch["image_grid_thw"]]
    model.caption([image(90, 60, 1)], [Facts(width=90, height=60)], None)  # type: ignore[attr-defined]
    # M-RoPE ran: a grid of image tokens spans fewer positions than tokens, so the text
    # after it is shifted back; without the token types the model silently falls back
    # to 1-D positions (a shift of 0) and reads the image as one long line
    assert model.model.model.rope_deltas.tolist() == [[-3]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", NEW)
def test_the_profile_prompt_steers_them(name: str, tiny: dict[str, Path]) -> None:
    from describe.render.profiles import ProfileSet

    model = captioner(name, tiny[CATALOG[name].family])
    model.load()  # type: ignore[attr-defined]
    detailed = ProfileSet.load().get("detailed")
    assert detailed.prompt in model.chat_text(detailed)  # type: ignore[attr-defined]
    batch = model.preprocess([image(90, 60)], detailed)  # type: ignore[attr-defined]
    decoded = model.tokenizer.decode(batch["input_ids"][0])  # type: ignore[attr-defined]
    assert detailed.prompt in decoded


@pytest.mark.parametrize("name", NEW)
def test_auto_falls_back_to_classic_without_the_weights(name: str, empty_cache: Path, fakes: None) -> None:
    describer = Describer(DescribeSettings(captioner="auto", vlm=name, use=FAKE_USE))
    assert describer.captioner == "classic"
    named = Describer(DescribeSettings(captioner=name, use=FAKE_USE))
    with pytest.raises(ModelError) as info:
        named.load()
    message = info.value.message
    assert message.startswith(f"{name}: weights not found") and CATALOG[name].repo in message
    assert f"imgdesc models pull {name}" in message and "\n" not in message


@pytest.mark.parametrize("name", NEW)
def test_auto_uses_them_when_their_weights_are_cached(
    name: str, empty_cache: Path, tiny: dict[str, Path], fakes: None
) -> None:
    base = empty_cache / "hub" / f"models--{CATALOG[name].repo.replace('/', '--')}"
    shutil.copytree(tiny[CATALOG[name].family], base / "snapshots" / ("0" * 40))
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text("0" * 40)
    settings = DescribeSettings(
        captioner="auto", vlm=name, use=FAKE_USE, analyzers={name: {"max_new_tokens": 4}}
    )
    describer = Describer(settings)
    assert describer.captioner == name
    result = describer.describe(encode(np.zeros((40, 56, 3), np.uint8)), name="x.png")
    assert result.captioner == name and result.description.strip()
    assert name in describer.loaded_captioners()
