"""Tags from what visible text says (describe/data/text_cues.toml): the kind of notice,
not its words — matched line by line, with the OCR confidence as the score."""

from __future__ import annotations

import pytest

from describe.errors import ConfigError
from describe.facts import Caption, Facts, TextFacts, TextLine
from describe.knowledge.text_cues import compile_cues, text_cues
from describe.render.profiles import TagRules
from describe.render.tags import build_tags


def lines(*texts: str, score: float = 0.9) -> list[tuple[str, float]]:
    return [(t, score) for t in texts]


def cues(*texts: str) -> set[str]:
    return {tag for tag, _ in text_cues(lines(*texts))}


def test_a_banner_whose_words_differ_is_still_a_sale() -> None:
    assert cues("WINTER·CLEARANCE", "UP TO 60% OFF") == {"sale"}
    assert cues("SUMMER SALE") == {"sale"}
    assert cues("Salesforce quarterly report") == set()  # a word, not a substring


def test_one_price_is_a_price_tag_and_several_a_price_list() -> None:
    assert cues("Hass Avocados", "Price per fruit", "1.80") == {"price"}
    assert cues("Kitchen Scale", "€ 24,90") == {"price"}
    menu = ("MENU", "Espresso 2.50", "Cappuccino 3.20", "Latte", "3.60")
    assert cues(*menu) == {"price list"}  # the lone 3.60 is one of the list's prices
    assert cues("Version 2.13 released") == set()  # a number in a sentence is no price


def test_other_notices() -> None:
    assert cues("WE'RE", "HIRING", "Apply inside") == {"hiring"}
    assert cues("OPEN DAILY", "9 AM - 5 PM") == {"opening hours"}
    assert cues("BUY 1 GET 1", "FREE") == {"offer"}
    assert cues("EXIT", "ENTER") == set()
    assert text_cues([]) == []


def test_the_score_is_the_best_matching_line() -> None:
    found = dict(text_cues([("SALE", 0.7), ("sale ends friday", 0.95), ("coats", 1.0)]))
    assert found == {"sale": 0.95}


def test_cues_are_tags_from_the_text_source_read_by_ocr_or_a_captioner() -> None:
    ocr = TextFacts(lines=(TextLine("SUMMER SALE", 0.98, (0, 0, 1, 0.2)),), text="SUMMER SALE")
    tags = {t.name: (t.source, t.score) for t in build_tags(Facts(640, 480, text=ocr), TagRules())}
    assert tags["sale"] == ("text", 0.98) and "text" in tags
    read = Facts(
        640,
        480,
        caption=Caption(text="A banner.", source="florence-2-base", ocr="We're hiring\nApply inside"),
    )
    assert "hiring" in {t.name for t in build_tags(read, TagRules())}
    quiet = TagRules(sources=tuple(s for s in TagRules().sources if s != "text"))
    assert "sale" not in {t.name for t in build_tags(Facts(640, 480, text=ocr), quiet)}


def test_a_bad_pattern_is_a_config_error_naming_the_cue() -> None:
    with pytest.raises(ConfigError, match="'sale'"):
        compile_cues(b'[cues.sale]\npatterns = ["(unclosed"]\n')
    [(tag, patterns, cue)] = compile_cues(b'[cues.sale]\npatterns = ["sale"]\nmin_lines = 2\n')
    assert tag == "sale" and patterns[0].search("SALE") and cue.counts(2) and not cue.counts(1)
