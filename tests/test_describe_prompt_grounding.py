"""Florence-2's phrase grounding in the prompt check: asked once per image with a prompt,
its answer parsed into boxes per phrase, a placed can't-tell phrase made seen. The model
is the tiny random-weight checkpoint of tests/vlm_tiny.py, loaded by the production loader."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from describe.analyzers.vlm.florence import FlorenceCaptioner, Region, match_phrases
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.facts import CANT_TELL, NOT_SEEN, SEEN, Box, Evidence, Facts, PromptItem
from describe.intake import IntakeLimits, PreparedImage, load_image
from describe.render.profiles import Profile
from tests import vlm_tiny
from tests.conftest import encode
from tests.fakes import FAKE_USE

FLORENCE = "florence-2-base"
# what the prompt check needs, without the profile's other facts (zero-shot tags)
PROFILE = Profile(
    name="check",
    template="{{ caption }}",
    facts=("objects", "labels", "text", "colours", "caption", "provenance", "prompt_check"),
)
BOX: Box = (0.1, 0.1, 0.5, 0.5)


@pytest.fixture(scope="module")
def tiny_florence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vlm_tiny.build_florence(tmp_path_factory.mktemp("tiny-florence") / "florence")


def describer(captioner: str, folder: Path | None = None, **check_options: object) -> Describer:
    analyzers: dict[str, dict[str, Any]] = {"prompt_check": dict(check_options)}
    if folder is not None:
        analyzers[captioner] = {"model": str(folder), "max_new_tokens": 6, "quantize": "none"}
    return Describer(DescribeSettings(captioner=captioner, use=FAKE_USE, analyzers=analyzers))


def image(prompt: str | None = None) -> PreparedImage:
    # bright: the fake classifier calls it "sky"
    pixels = np.random.default_rng(3).integers(140, 256, (50, 80, 3), dtype=np.uint8)
    return dataclasses.replace(load_image(encode(pixels), IntakeLimits(), name="x.png"), prompt=prompt)


class Spy:
    """Stands in for FlorenceCaptioner.ground: records the phrases, places the chosen ones."""

    def __init__(self, placed: set[str]) -> None:
        self.placed = placed
        self.calls: list[list[str]] = []

    def __call__(self, image: PreparedImage, phrases: Sequence[str]) -> list[list[Box]]:
        self.calls.append(list(phrases))
        return [[BOX] if p in self.placed else [] for p in phrases]


def florence_with_spy(folder: Path, placed: set[str], **options: object) -> tuple[Describer, Spy]:
    d = describer(FLORENCE, folder, **options)
    spy = Spy(placed)
    d.analyzer(FLORENCE, "caption").ground = spy  # type: ignore[attr-defined]
    return d, spy


def items(facts: Facts) -> dict[str, PromptItem]:
    assert facts.prompt_check is not None
    return {i.thing: i for i in facts.prompt_check.items}


@pytest.mark.slow  # builds and loads the tiny checkpoint
def test_a_grounded_cant_tell_phrase_is_seen(tiny_florence: Path, fakes: None) -> None:
    d, spy = florence_with_spy(tiny_florence, placed={"a sunlit loft", "a dog"})
    facts, _ = d.analyze(image('a sunlit loft, a dog, a wooden ladder, a sign saying "OPEN"'), PROFILE)
    # one pass for all the phrases; quoted text is OCR's to check
    assert spy.calls == [["a sunlit loft", "a dog", "a wooden ladder", "a sign saying"]]
    found = items(facts)
    assert found["loft"].status == SEEN and found["loft"].evidence == (
        Evidence("grounding", "a sunlit loft"),
    )
    # the detector knows dogs and found none: grounding places any phrase, so it stays not seen
    assert found["dog"].status == NOT_SEEN and found["dog"].evidence == ()
    # a phrase Florence did not place stays as the vocabulary decides
    assert found["ladder"].status == CANT_TELL
    # seen: the loft; not seen: the dog, the sign and its text (the fake OCR reads nothing)
    assert facts.prompt_check is not None and facts.prompt_check.score == 0.25


@pytest.mark.slow  # builds and loads the tiny checkpoint
def test_grounding_runs_only_with_a_prompt(tiny_florence: Path, fakes: None) -> None:
    d, spy = florence_with_spy(tiny_florence, placed=set())
    facts, _ = d.analyze(image(None), PROFILE)
    assert facts.caption is not None and facts.caption.source == FLORENCE
    assert facts.prompt_check is None and spy.calls == []
    d.analyze(image("masterpiece, 8k, photorealistic"), PROFILE)  # style words only: nothing to place
    assert spy.calls == []


@pytest.mark.slow  # builds and loads the tiny checkpoint
def test_grounding_can_be_turned_off(tiny_florence: Path, fakes: None) -> None:
    d, spy = florence_with_spy(tiny_florence, placed={"a sunlit loft"}, ground=False)
    facts, _ = d.analyze(image("a sunlit loft"), PROFILE)
    assert spy.calls == [] and items(facts)["loft"].status == CANT_TELL


def test_a_captioner_without_grounding_checks_as_before(fakes: None) -> None:
    for name in ("fake-caption", "classic"):
        facts, _ = describer(name).analyze(image("a sunlit loft, a dog, the sky"), PROFILE)
        found = items(facts)
        assert [found[t].status for t in ("loft", "dog", "sky")] == [CANT_TELL, NOT_SEEN, SEEN]
        assert all(e.kind != "grounding" for i in found.values() for e in i.evidence)


def grounding_ids(captioner: FlorenceCaptioner, answer: str) -> torch.Tensor:
    ids = captioner.tokenizer(f"</s><s>{answer}</s>", add_special_tokens=False)["input_ids"]
    return torch.tensor([ids])


@pytest.mark.slow  # builds and loads the tiny checkpoint
def test_florence_grounding_answer_is_parsed_into_boxes_per_phrase(
    tiny_florence: Path, fakes: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    captioner = describer(FLORENCE, tiny_florence).analyzer(FLORENCE, "caption")
    assert isinstance(captioner, FlorenceCaptioner)
    captioner.load()
    # the tiny tokenizer has location tokens 0..99; the real one has 0..999
    answer = (
        "a cat<loc_10><loc_20><loc_30><loc_40>"
        "red sofa<loc_0><loc_50><loc_99><loc_99><loc_5><loc_5><loc_9><loc_9>"  # two boxes
    )
    seen: dict[str, Any] = {}

    def generate(**kwargs: Any) -> torch.Tensor:
        seen.update(kwargs)
        return grounding_ids(captioner, answer)

    monkeypatch.setattr(captioner.model, "generate", generate)
    boxes = captioner.ground(image("x"), ["a cat", "a red sofa", "a dog"])
    # normalised as <OD> boxes are: the middle of each of the 1000 bins
    assert boxes[0] == [(0.0105, 0.0205, 0.0305, 0.0405)]
    assert boxes[1] == [(0.0005, 0.0505, 0.0995, 0.0995), (0.0055, 0.0055, 0.0095, 0.0095)] and boxes[2] == []
    assert seen["max_new_tokens"] == 8 + 12 * 3 and seen["attention_mask"].shape[0] == 1


@pytest.mark.slow  # builds and loads the tiny checkpoint
def test_unpatched_grounding_runs_the_model(tiny_florence: Path, fakes: None) -> None:
    captioner = describer(FLORENCE, tiny_florence).analyzer(FLORENCE, "caption")
    boxes = captioner.ground(image("x"), ["a cat", "a dog"])  # type: ignore[attr-defined]
    assert len(boxes) == 2 and all(isinstance(b, list) for b in boxes)  # random weights: shape only


def test_labels_are_matched_to_their_phrases() -> None:
    regions = [
        Region("red sofa", BOX),
        Region("a black cat", BOX),
        Region("cat", BOX),
        Region("the image", BOX),
    ]
    assert match_phrases(regions, ["a red sofa", "a white cat", "a black cat", "a dog"]) == [
        [BOX],
        [BOX],  # "cat" alone: the first phrase whose thing it names
        [BOX],  # spelled exactly
        [],
    ]
