"""What a vision-language captioner's output becomes: Florence task answers
parsed from fixed generated strings, VLM objects merged into the tag set, and
the VLM paragraph as the core of the rendered description."""

from __future__ import annotations

import pytest

from describe.analyzers.vlm.base import clean
from describe.analyzers.vlm.florence import Region, object_names, parse_regions, parse_text
from describe.facts import (
    Caption,
    Colour,
    ColourFacts,
    Facts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    TextFacts,
)
from describe.render.paragraph import render
from describe.render.profiles import ProfileSet
from describe.render.tags import build_tags

OD = (
    "</s><s>car<loc_52><loc_333><loc_932><loc_774>wheel<loc_144><loc_570><loc_870><loc_778>"
    "<loc_711><loc_573><loc_866><loc_774>Human face<loc_10><loc_20><loc_30><loc_40></s><pad><pad>"
)


def test_objects_with_boxes_are_parsed_from_od_output() -> None:
    regions = parse_regions(OD)
    assert [r.label for r in regions] == ["car", "wheel", "wheel", "Human face"]
    assert regions[0] == Region("car", (0.0525, 0.3335, 0.9325, 0.7745))
    for region in regions:
        x0, y0, x1, y1 = region.box
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert object_names(regions) == ["car", "wheel", "human face"]


@pytest.mark.parametrize(
    "generated",
    ["", "</s><s></s>", "<loc_1><loc_2><loc_3><loc_4>", "car<loc_1><loc_2>", "<s>no boxes here</s>"],
)
def test_od_output_without_complete_boxes_gives_no_objects(generated: str) -> None:
    assert parse_regions(generated) == []


def test_bins_past_the_grid_are_clamped() -> None:
    [region] = parse_regions("sign<loc_0><loc_0><loc_999><loc_1200>")
    assert region.box == (0.0005, 0.0005, 0.9995, 0.9995)


def test_ocr_and_caption_text_lose_special_and_location_tokens() -> None:
    assert parse_text("</s><s>SUMMER SALE<loc_5>\n50% OFF</s><pad>") == "SUMMER SALE 50% OFF"
    assert parse_text("</s><s>The image shows a red car parked on a street.</s>") == (
        "The image shows a red car parked on a street."
    )
    assert clean("a\x08b\x17  c\n") == "a b c"


def vlm_facts(**caption: object) -> Facts:
    return Facts(
        width=800,
        height=600,
        objects=ObjectFacts(counts=(ObjectCount("car", 1, 0.9),)),
        labels=LabelFacts(labels=(Label("seashore", 0.8, "landscape"),)),
        colours=ColourFacts(palette=(Colour("crimson", "red", "#c81e28", 0.6),)),
        caption=Caption(
            **{
                "text": "The image shows a red car parked by the sea.",
                "source": "florence-2-base",
                "vlm": True,
            }
            | caption
        ),
    )


def test_vlm_objects_merge_with_detector_objects_into_one_tag_set() -> None:
    rules = ProfileSet.load().get("default").tags
    facts = vlm_facts(objects=("car", "wheels", "human face"))
    tags = build_tags(facts, rules)
    by_name = {t.name: t for t in tags}
    assert by_name["car"].source == "objects"  # both saw it: the detector keeps it, once
    assert [t.name for t in tags].count("car") == 1
    assert by_name["wheel"].source == "caption" and by_name["human face"].source == "caption"
    assert "vehicle" in by_name  # the category of a caption object counts too
    without = build_tags(facts, rules.__class__(sources=("objects", "labels", "colours")))
    assert "wheel" not in {t.name for t in without}


def test_the_vlm_caption_is_the_core_of_the_paragraph() -> None:
    profiles = ProfileSet.load()
    facts = vlm_facts()
    text = render(facts, profiles.get("default"), [])
    assert text.startswith("The image shows a red car parked by the sea.")
    assert "The main colour is crimson." in text
    assert "setting" not in text  # the classifier's scene guess is not repeated after a VLM paragraph
    detailed = render(facts, profiles.get("detailed"), [])
    assert detailed.startswith("The image shows a red car") and "crimson" in detailed


def test_text_read_by_the_vlm_is_used_when_ocr_found_none() -> None:
    default = ProfileSet.load().get("default")
    facts = vlm_facts(ocr="SUMMER SALE")
    assert "Visible text reads “SUMMER SALE”." in render(facts, default, [])
    assert "text" in {t.name for t in build_tags(facts, default.tags)}
    with_ocr = Facts(
        **{**{f: getattr(facts, f) for f in facts.__struct_fields__}, "text": TextFacts(text="OPEN")}
    )
    assert "“OPEN”" in render(with_ocr, default, []) and "SUMMER" not in render(with_ocr, default, [])


def test_a_classic_caption_keeps_the_setting() -> None:
    facts = vlm_facts(text="An image of a car.", source="classic", vlm=False)
    assert "The setting looks like a seashore." in render(facts, ProfileSet.load().get("default"), [])


def test_an_empty_vlm_answer_falls_back_to_the_classic_sentence() -> None:
    from describe.analyzers.vlm.florence import Florence2Base

    empty = Caption("", "florence-2-base", objects=("car",), ocr="STOP", vlm=True)
    facts = Facts(width=1, height=1, objects=ObjectFacts(counts=(ObjectCount("car", 1, 0.9),)))
    caption = Florence2Base().fallback(empty, facts)
    assert caption == Caption("An image of a car.", "classic", objects=("car",), ocr="STOP")
