"""Every vision-language architecture end to end: a tiny random-weight checkpoint
built and saved by the test, loaded through the production loader from that
folder, run to rendered output. Weights are random: structure, not wording."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest

from describe import registry
from describe.analyzers.vlm.catalog import CATALOG
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.facts import Caption
from describe.intake import IntakeLimits, load_image
from describe.render.profiles import ProfileSet
from tests import vlm_tiny
from tests.conftest import encode
from tests.fakes import FAKE_USE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-vlms")
    return {family: build(root / family) for family, build in vlm_tiny.BUILDERS.items()}


def describer_for(name: str, folder: Path, **options: object) -> Describer:
    settings = DescribeSettings(
        captioner=name, use=FAKE_USE, analyzers={name: {"model": str(folder), "max_new_tokens": 6, **options}}
    )
    return Describer(settings)


def photo(seed: int, size: tuple[int, int] = (90, 60)) -> bytes:
    w, h = size
    return encode(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def test_every_vlm_in_the_catalog_is_registered() -> None:
    captioners = registry.names("caption")
    assert set(CATALOG) | {"classic"} <= set(captioners)
    for spec in CATALOG.values():
        assert spec.family in vlm_tiny.BUILDERS and spec.params_m > 0 and spec.licence


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_tiny_checkpoint_end_to_end(name: str, tiny_models: dict[str, Path], fakes: None) -> None:
    describer = describer_for(name, tiny_models[CATALOG[name].family])
    describer.load()
    assert describer.captioner == name
    for profile in ("default", "detailed", "alt"):
        result = describer.describe(photo(1), name="x.png", profile=profile)
        assert result.captioner == name and result.profile == profile
        assert isinstance(result.caption, str) and "\n" not in result.caption
        assert result.description.strip() and result.timings_ms[name] > 0
        if profile == "alt":
            assert len(result.description) <= 125
        record = msgspec.json.decode(msgspec.json.encode(result))
        assert record["captioner"] == name and isinstance(record["tags"], list)


@pytest.mark.parametrize("family", sorted(vlm_tiny.BUILDERS))
def test_batches_caption_each_image(family: str, tiny_models: dict[str, Path], fakes: None) -> None:
    name = next(n for n, s in CATALOG.items() if s.family == family)
    # int8 dynamic quantisation scales activations per batch, so only fp32 is batch-invariant
    describer = describer_for(name, tiny_models[family], batch_size=2, quantize="none")
    images = [
        load_image(photo(seed, (40 + 20 * seed, 50)), IntakeLimits(), name=f"{seed}.png") for seed in range(3)
    ]
    profile = describer.profiles.get("default")
    batched = describer.analyze_batch(images, profile)
    assert len(batched) == 3
    for facts, timings in batched:
        assert isinstance(facts.caption, Caption) and facts.caption.source == name and facts.caption.vlm
        assert facts.colours is not None and name in timings
    # one at a time gives the same captions (greedy decoding; padding must not leak into a row)
    single = [describer.analyze(image, profile)[0].caption for image in images]
    assert [facts.caption for facts, _ in batched] == single


def test_the_profile_prompt_reaches_the_instruction_models(tiny_models: dict[str, Path], fakes: None) -> None:
    profiles = ProfileSet.load()
    for name in ("smolvlm-256m", "smolvlm2-500m", "qwen2.5-vl-3b", "qwen3-vl-2b"):
        captioner = describer_for(name, tiny_models[CATALOG[name].family]).analyzer(name, "caption")
        captioner.load()
        for profile in profiles:
            assert profile.prompt in captioner.chat_text(profile)  # type: ignore[attr-defined]
        assert "colours" in captioner.chat_text(profiles.get("detailed"))  # type: ignore[attr-defined]


def test_florence_picks_its_task_from_the_profile(tiny_models: dict[str, Path], fakes: None) -> None:
    profiles = ProfileSet.load()
    florence = describer_for("florence-2-base", tiny_models["florence"]).analyzer(
        "florence-2-base", "caption"
    )
    assert florence.tasks(profiles.get("default")) == ["<MORE_DETAILED_CAPTION>", "<OD>"]  # type: ignore[attr-defined]
    assert florence.tasks(profiles.get("alt")) == ["<CAPTION>", "<OD>"]  # type: ignore[attr-defined]
    reader = describer_for("florence-2-base", tiny_models["florence"], tasks=["objects", "text"])
    captioner = reader.analyzer("florence-2-base", "caption")
    assert captioner.tasks(None) == ["<MORE_DETAILED_CAPTION>", "<OD>", "<OCR>"]  # type: ignore[attr-defined]
    result = reader.describe(photo(2), name="x.png")
    assert result.captioner == "florence-2-base"


def test_a_broken_checkpoint_is_one_readable_error(tmp_path: Path, fakes: None) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "florence2"}')
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    describer = describer_for("florence-2-base", tmp_path)
    with pytest.raises(Exception) as info:
        describer.load()
    message = getattr(info.value, "message", "")
    assert message.startswith("florence-2-base: cannot load the model from") and "\n" not in message


def test_florence_runs_int8_on_a_cpu_unless_told_not_to(tiny_models: dict[str, Path], fakes: None) -> None:
    def quantised(**options: object) -> bool:
        captioner = describer_for("florence-2-base", tiny_models["florence"], **options).analyzer(
            "florence-2-base", "caption"
        )
        captioner.load()
        modules = captioner.model.modules()  # type: ignore[attr-defined]
        return any(type(m).__module__.startswith("torch.ao.nn.quantized.dynamic") for m in modules)

    assert quantised() and not quantised(quantize="none")
