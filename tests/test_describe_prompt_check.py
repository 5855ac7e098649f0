"""Prompt versus picture: splitting a prompt, deciding seen / not seen / can't tell, the
sentence, the tags, and the whole path on a real photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from describe.facts import (
    CANT_TELL,
    NOT_SEEN,
    SEEN,
    Caption,
    Colour,
    ColourFacts,
    DetectedObject,
    Facts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    PromptCheck,
    Provenance,
    TextFacts,
)
from describe.provenance.prompt_check import check_prompt
from describe.provenance.prompt_phrases import clean, split_prompt
from describe.render.paragraph import render
from describe.render.profiles import ProfileSet, TagRules
from describe.render.tags import build_tags


def words(prompt: str) -> list[tuple[str, ...]]:
    return [p.words for p in split_prompt(prompt)]


def test_weights_loras_and_alternations_are_undone() -> None:
    assert clean("((golden retriever)), (red sofa:1.3) <lora:detail:0.8> [cat|dog] [day:night:0.5]") == (
        "golden retriever , red sofa cat night"
    )


def test_style_words_authors_and_filler_are_dropped() -> None:
    prompt = "masterpiece, best quality, photorealistic, two people sitting on a bench, 8k, by greg rutkowski"
    assert words(prompt) == [("people",), ("bench",)]
    assert split_prompt(prompt)[0].count == 2
    assert words("a photo of a cat by the window, trending on artstation") == [("cat",), ("window",)]


def test_things_are_split_at_conjunctions_and_prepositions() -> None:
    assert words("a dog and a cat on a red sofa") == [("dog",), ("cat",), ("red", "sofa")]
    assert words("A cup of coffee, a cup of coffee") == [("cup",), ("coffee",)]  # no repeats


def test_quoted_text_is_asked_to_be_written() -> None:
    [sign, *rest] = split_prompt('a shop sign that says "SUMMER SALE"')
    assert sign.quoted and sign.words == ("SUMMER SALE",)
    assert [p.words for p in rest] == [("shop", "sign")]


CAT_BOX = DetectedObject("cat", 0.9, (0.1, 0.1, 0.9, 0.9))
FACTS = Facts(
    width=100,
    height=100,
    objects=ObjectFacts(objects=(CAT_BOX,), counts=(ObjectCount("cat", 1, 0.9),)),
    labels=LabelFacts(
        labels=(
            Label("beagle", 0.4, "animal", hypernyms=("hound", "dog")),
            Label("tiger", 0.02, "animal", hypernyms=("big cat",)),  # too unlikely to count
        )
    ),
    text=TextFacts(text="OPEN\n24 hours"),
    colours=ColourFacts(palette=(Colour("brown", "brown", "#804020", 0.6),), object_colours=("brown",)),
)


def check(prompt: str, facts: Facts = FACTS) -> PromptCheck:
    result = check_prompt(Provenance(prompt=prompt, source="caller"), facts)
    assert result is not None
    return result


def test_seen_not_seen_and_cant_tell() -> None:
    result = check('a dog, a cat, a tiger, a sunlit loft, a sign saying "open"')
    status = {i.thing: i.status for i in result.items}
    # a sign is a thing the detector knows (stop sign); a loft is not
    assert status == {
        "open": SEEN,
        "dog": SEEN,
        "cat": SEEN,
        "tiger": NOT_SEEN,
        "loft": CANT_TELL,
        "sign": NOT_SEEN,
    }
    dog = next(i for i in result.items if i.thing == "dog")
    assert [(e.kind, e.name) for e in dog.evidence] == [("label", "beagle")]  # through its ancestor
    assert result.score == 0.6 and result.mismatch


def test_colour_and_count_are_compared_with_the_detection() -> None:
    brown, red, two = check("a brown cat, a red cat, two cats").items
    assert (
        brown.status == SEEN
        and brown.differs == ()
        and ("colour", "brown") in [(e.kind, e.name) for e in brown.evidence]
    )
    assert red.status == SEEN and red.differs == ("red",)
    assert two.count == 2 and two.differs == ("count",)
    assert check("a brown cat").mismatch is False and check("a red cat").mismatch is True


def test_no_prompt_no_check() -> None:
    assert check_prompt(Provenance(), FACTS) is None
    assert check_prompt(None, FACTS) is None
    nothing = check("photorealistic, 8k, masterpiece")
    assert nothing.items == () and nothing.score is None and not nothing.mismatch


def test_a_vision_language_caption_is_evidence() -> None:
    facts = Facts(
        width=10, height=10, caption=Caption("A red bicycle leans on a wall.", "florence-2-base", vlm=True)
    )
    items = check("a bicycle, a horse", facts).items
    assert [(i.thing, i.status) for i in items] == [("bicycle", SEEN), ("horse", NOT_SEEN)]


def test_the_detailed_sentence_and_the_tags(profiles: ProfileSet) -> None:
    provenance = Provenance(prompt="a dog and a cat on a red sofa", source="file:a1111", ai_generated=True)
    facts = Facts(
        width=100,
        height=100,
        objects=FACTS.objects,
        provenance=provenance,
        prompt_check=check_prompt(provenance, Facts(width=1, height=1, objects=FACTS.objects)),
    )
    text = render(facts, profiles.get("detailed"), [])
    assert "The prompt asks for a dog and a red sofa, which are not visible; the cat is." in text
    assert "prompt" not in render(facts, profiles.get("default"), []).lower()
    # filters: kept even when max_tags cuts the rest
    names = [t.name for t in build_tags(facts, TagRules(max_tags=1))]
    assert names == ["cat", "ai-generated", "prompt-mismatch"]
    no_source = TagRules(sources=("objects",))
    assert [t.name for t in build_tags(facts, no_source)] == ["cat"]


@pytest.mark.slow
def test_a1111_png_on_the_cat_photo(photos: dict[str, np.ndarray]) -> None:
    from describe.config import DescribeSettings
    from describe.describer import Describer

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a dog and a cat on a red sofa, photorealistic\nSteps: 20, Seed: 1")
    buf = io.BytesIO()
    Image.fromarray(photos["chelsea"]).save(buf, "PNG", pnginfo=info)
    describer = Describer(DescribeSettings(captioner="classic"))
    out = describer.describe(buf.getvalue(), profile="detailed")
    assert out.prompt_check is not None and out.prompt_check.source == "file:a1111"
    status = {i.thing: i.status for i in out.prompt_check.items}
    assert status["cat"] == SEEN and status["dog"] == NOT_SEEN
    assert {"ai-generated", "prompt-mismatch"} <= set(out.tags)
    assert "The prompt asks for a dog" in out.description and "the cat is." in out.description
    # the caller's prompt wins; it asks only for what is there
    mine = describer.describe(buf.getvalue(), prompt="a cat", profile="default")
    assert mine.prompt_check is not None and mine.prompt_check.source == "caller"
    assert mine.prompt_check.score == 1.0 and "prompt-mismatch" not in mine.tags
    assert "ai-generated" in mine.tags  # still what the file says
