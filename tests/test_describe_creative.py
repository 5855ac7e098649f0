"""Creatives (issue 27): the text's parts, the format and kind rules, the recognition of a
rendered ad against a photo, the doubts its copy casts, and the words it gets."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from PIL import Image, ImageDraw

from describe.analyzers.creative import flat_share, on_button, read_creative
from describe.analyzers.creative_drawn import drawn_elements
from describe.describer import Describer
from describe.facts import (
    Caption,
    CreativeFacts,
    CreativePart,
    DetectedObject,
    Facts,
    Label,
    LabelFacts,
    ObjectCount,
    ObjectFacts,
    TextFacts,
    TextLine,
)
from describe.knowledge import creative_text as ct
from describe.knowledge import language_id
from describe.render import creative


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("$59.99", ["$59.99"]),
        ("Cat food from $4.99", ["from $4.99"]),
        ("Fresh kiwis €4.50/kg", ["€4.50/kg"]),
        ("2 for $8", ["2 for $8"]),
        ("Kitchen scale 24,90 €", ["24,90 €"]),
        ("free delivery on orders over $35", []),  # a threshold
        ("$10 off $50", []),  # a discount
        ("Call 555-0142", []),
        ("", []),
    ],
)
def test_prices_keep_currency_lead_and_unit(line: str, expected: list[str]) -> None:
    assert ct.prices(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("-40%", ["-40%"]),
        ("up to 60% off", ["60% off", "up to 60%"]),
        ("BOGO coffee", ["BOGO"]),
        ("Buy one, get one free", ["Buy one, get one"]),
        ("70% drink it daily", []),  # a share, not a discount
    ],
)
def test_discounts(line: str, expected: list[str]) -> None:
    assert ct.discounts(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("CODE: SPRING20", ["SPRING20"]),
        ("Use code SAVEBIG at checkout", ["SAVEBIG"]),
        ("code 4821", ["4821"]),
        ("the code is fun", []),  # lower case: words, not a code
        ("Postcode", []),
    ],
)
def test_coupon_codes(line: str, expected: list[str]) -> None:
    assert ct.coupons(line) == expected


def test_a_call_to_action_is_a_short_imperative_on_a_button_or_urgent() -> None:
    assert ct.is_cta("Shop now", on_button=False)
    assert ct.is_cta("Get a quote", on_button=True)
    assert not ct.is_cta("Get a quote", on_button=False)  # no button, nothing urgent
    assert not ct.is_cta("Join our team and grow with a company that cares", on_button=True)
    assert not ct.is_cta("Call 555-0142", on_button=True)
    assert ct.is_cta("Jetzt kaufen", on_button=True)


@pytest.mark.parametrize(
    "odd",
    ["", " ", "(((", "[$€£", "\\d+", "🎉🎉 SALE 🎉", "x" * 5000, "\x00\x01", "١٢٣ ٪", "$$$ € € 9,9,9,9 %%"],
)
def test_odd_text_never_raises(odd: str) -> None:
    for parse in (ct.prices, ct.discounts, ct.coupons, ct.event_details, ct.products):
        assert isinstance(parse(odd), list)
    assert isinstance(ct.is_cta(odd, on_button=True), bool)


def test_event_details_but_not_on_a_menu_item() -> None:
    assert ct.event_details("Sat 14 March, 8 pm") == ["date", "time"]
    assert ct.event_details("Blue Note Club") == ["venue"]
    assert ct.event_details("Club sandwich 8.50") == []


def test_formats_by_aspect_ratio() -> None:
    assert ct.fit_format(1.0) == "square"
    assert ct.fit_format(9 / 16) == "story"
    assert ct.fit_format(1200 / 628) == "landscape"
    assert ct.fit_format(4.0) == "banner"
    assert ct.fit_format(728 / 90) == "leaderboard"
    assert ct.fit_format(1 / 2**0.5) == "a-portrait"
    assert ct.fit_format(4 / 3) == ""  # a camera's frame is no format


def test_kind_rules_in_order() -> None:
    assert (
        ct.choose_kind(["Pizza 20% off", "CODE: PIZZA20"], {"coupon", "discount"}, "landscape", 0).kind
        == "coupon"
    )
    assert ct.choose_kind(["WE'RE HIRING", "Apply now"], {"cta"}, "square", 0).kind == "job ad"
    menu = ["Espresso $2.50", "Latte $4.00", "Tea $2.00"]
    assert ct.choose_kind(menu, {"price"}, "a-portrait", 3).kind == "menu"
    # a price column read apart from its items, no currency
    board = ["Happy Hour", "Draft beer", "4.00", "House wine", "5.50", "Nachos", "6.00"]
    assert ct.choose_kind(board, set(), "a-landscape", 0).kind == "menu"
    assert ct.choose_kind(["BLACK FRIDAY", "Shop now"], {"cta"}, "banner", 0).kind == "web banner"
    gig = ["JAZZ NIGHT", "Sat 14 March, 8 pm", "Tickets €15"]
    assert ct.choose_kind(gig, {"event", "price"}, "a-portrait", 1).kind == "event poster"
    assert ct.choose_kind(["NEW", "$5", "Shop now"], {"price", "cta"}, "square", 1).kind == "ad"
    assert ct.choose_kind(["Be kind", "to yourself"], set(), "square", 0).kind == "social post"


def test_products_prefer_the_longest_name_at_a_place() -> None:
    assert ct.products("Street Runner sneakers") == [("shoe", "sneakers")]
    assert ct.products("Kitchen scale, digital")[0] == ("kitchen scale", "kitchen scale")
    assert ct.products("Tools up to 40% off") == [("tool", "tools")]


# ---------------------------------------------------------------- a rendered ad
W = H = 400


def _ad() -> tuple[np.ndarray, Facts]:
    """A flat yellow square post with a headline, a price and a black rounded button; the
    text's boxes as OCR would give them (the button's box reaches over its padding)."""
    img = Image.new("RGB", (W, H), (250, 215, 60))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([140, 300, 260, 350], radius=20, fill=(20, 20, 20))
    d.text((160, 315), "Shop now", fill=(255, 255, 255))
    d.text((100, 40), "NEW ARRIVALS", fill=(20, 20, 20))
    lines = (
        TextLine("NEW ARRIVALS", 0.99, (0.1, 0.08, 0.9, 0.2)),
        TextLine("Street Runner sneakers", 0.98, (0.2, 0.25, 0.8, 0.3)),
        TextLine("$59.99", 0.99, (0.38, 0.4, 0.62, 0.47)),
        TextLine("Shop now", 0.99, (0.37, 0.76, 0.63, 0.86)),
    )
    facts = Facts(
        width=W,
        height=H,
        text=TextFacts(lines=lines, text="\n".join(x.text for x in lines), coverage=0.2),
        labels=LabelFacts(
            labels=(Label("guitar pick", 0.2, "object"), Label("running shoe", 0.1, "clothing"))
        ),
        objects=ObjectFacts(
            objects=(DetectedObject("stop sign", 0.7, (0.35, 0.38, 0.65, 0.5)),),
            counts=(ObjectCount("stop sign", 1, 0.7),),
        ),
    )
    return np.asarray(img), facts


def test_a_rendered_ad_is_read_as_one() -> None:
    rgb, facts = _ad()
    found = read_creative(rgb, facts)
    assert (found.kind, found.format) == ("ad", "square")
    assert found.texts("headline") == ["NEW ARRIVALS"]
    assert found.texts("price") == ["$59.99"]
    assert found.texts("cta") == ["Shop now"]
    assert found.subject == "sneakers" and found.products == ("shoe",)
    assert "flat colour" in found.cues
    # the copy sells shoes: the classifier's guitar pick is doubted, its running shoe kept,
    # and the round price badge is no stop sign
    assert found.doubted_labels == ("guitar pick",)
    assert found.doubted_objects == ("stop sign",)


def test_the_button_is_found_and_plain_text_is_not_one() -> None:
    rgb, facts = _ad()
    assert facts.text is not None
    headline, *_, button = facts.text.lines
    assert on_button(rgb, button.box)
    assert not on_button(rgb, headline.box)


def test_a_photo_with_a_little_text_is_no_creative() -> None:
    noisy = np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    lines = (TextLine("LINI-T", 0.95, (0.1, 0.1, 0.3, 0.15)), TextLine("UT33C", 0.95, (0.1, 0.2, 0.3, 0.25)))
    facts = Facts(width=400, height=300, text=TextFacts(lines=lines, text="LINI-T\nUT33C", coverage=0.05))
    assert read_creative(noisy, facts).kind == ""
    assert flat_share(noisy) < 0.2
    assert read_creative(noisy, Facts(width=400, height=300)) == CreativeFacts()


def test_doubts_are_set_aside_and_kept() -> None:
    rgb, facts = _ad()
    facts = Facts(
        width=W, height=H, labels=facts.labels, objects=facts.objects, creative=read_creative(rgb, facts)
    )
    kept = creative.set_doubts_aside(facts)
    assert kept.labels is not None and [lb.name for lb in kept.labels.labels] == ["running shoe"]
    assert kept.objects is not None and kept.objects.counts == ()
    assert [o.label for o in kept.objects.doubted] == ["stop sign"]


def _facts_with(found: CreativeFacts) -> Facts:
    _rgb, facts = _ad()
    return Facts(
        width=W, height=H, text=facts.text, creative=found, caption=Caption("An image.", "vlm", vlm=True)
    )


def test_the_paragraph_leads_with_the_creative_and_the_tags_say_what_it_is() -> None:
    rgb, facts = _ad()
    found = read_creative(rgb, facts)
    description = Describer().compose(_facts_with(found), "default")
    assert description.description.startswith(
        "A square ad for sneakers: “NEW ARRIVALS”, $59.99, a “Shop now” button."
    )
    assert description.tags[:4] == ["ad", "promotion", "square post", "social media"]
    sources = {t.name: t.source for t in description.tag_details}
    assert sources["shoe"] == "text" and sources["sneakers"] == "text"
    assert description.creative == found


def test_the_detailed_profile_says_each_part() -> None:
    found = CreativeFacts(
        kind="coupon",
        format="landscape",
        layout="text left",
        parts=(
            CreativePart("headline", "Spring Savings"),
            CreativePart("discount", "$10 off"),
            CreativePart("coupon", "SPRING10"),
            CreativePart("cta", "Shop now"),
        ),
    )
    text = Describer().compose(_facts_with(found), "detailed").description
    assert "A 1.91:1 coupon: “Spring Savings”, $10 off, code SPRING10, a “Shop now” button." in text
    assert "Coupon code SPRING10." in text and "The call to action is “Shop now”." in text


def test_without_a_product_word_the_subject_is_a_thing_the_copy_and_the_models_both_name() -> None:
    img = Image.new("RGB", (800, 1000), (240, 230, 210))  # a 4:5 post
    lines = (
        TextLine("Meet Rex!", 0.99, (0.3, 0.05, 0.7, 0.12)),
        TextLine("Our new office dog", 0.99, (0.25, 0.14, 0.75, 0.18)),
        TextLine("@acme.team", 0.99, (0.35, 0.2, 0.65, 0.23)),
    )
    facts = Facts(
        width=800,
        height=1000,
        text=TextFacts(lines=lines, text="\n".join(x.text for x in lines), coverage=0.05),
        labels=LabelFacts(
            labels=(Label("German shepherd", 0.7, "animal", hypernyms=("shepherd dog", "dog")),)
        ),
    )
    found = read_creative(np.asarray(img), facts)
    assert (found.kind, found.format, found.subject) == ("social post", "portrait", "dog")
    assert found.texts("brand") == ["@acme.team"]
    assert found.doubted_labels == ()  # the copy names nothing the shepherd contradicts


def test_only_a_guess_outside_the_products_categories_is_doubted() -> None:
    """Tickets can show anything: the race car the classifier sees is not contradicted."""
    img = Image.new("RGB", (1200, 628), (10, 10, 10))
    lines = (
        TextLine("RACE DAY TICKETS", 0.99, (0.2, 0.1, 0.8, 0.21)),
        TextLine("$45", 0.99, (0.45, 0.26, 0.55, 0.35)),
        TextLine("Buy tickets", 0.99, (0.42, 0.36, 0.58, 0.43)),
    )
    labels = LabelFacts(labels=(Label("race car", 0.38, "vehicle"), Label("web site", 0.05, "object")))
    facts = Facts(
        width=1200,
        height=628,
        text=TextFacts(lines=lines, text="\n".join(x.text for x in lines), coverage=0.1),
        labels=labels,
    )
    found = read_creative(np.asarray(img), facts)
    assert found.products == ("ticket",)
    assert found.doubted_labels == ("web site",)  # a flat graphic's label, never a product


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["NEW ARRIVALS", "Street Runner sneakers", "Free returns within 30 days"], ("en",)),
        (["NEUE KOLLEKTION", "Kostenloser Versand ab 50 €", "Jetzt kaufen"], ("de",)),
        (["Les soldes d'hiver", "Livraison gratuite dès 50 €", "Acheter maintenant"], ("fr",)),
        (["Rebajas de verano", "Envío gratis en todos los pedidos", "Comprar ahora"], ("es",)),
        # a second language only from a long line the model is sure of
        (
            ["Summer sale, free shipping on all orders", "Kostenloser Versand für alle Bestellungen"],
            ("de", "en"),
        ),
        (["SALE", "-40%"], ()),  # too short to tell
        (["$59.99", "20%"], ()),
    ],
)
def test_languages_of_the_copy(lines: list[str], expected: tuple[str, ...]) -> None:
    assert sorted(language_id.languages(lines, ct.table().languages)) == sorted(expected)


@pytest.mark.parametrize(
    "odd", ["", "(((", "🎉🎉 SALE 🎉", "x" * 5000, "\x00\x01", "١٢٣ ٪", "ЖЖЖЖЖЖЖЖЖЖЖЖЖЖ"]
)
def test_language_id_never_raises(odd: str) -> None:
    found = language_id.languages([odd, odd], ct.table().languages)
    assert set(found) <= set(ct.table().languages.candidates)


def test_the_languages_are_in_the_fact_the_profile_and_the_tags() -> None:
    rgb, facts = _ad()
    assert read_creative(rgb, facts).languages == ("en",)
    german = CreativeFacts(
        kind="ad",
        format="square",
        parts=(CreativePart("headline", "Neue Kollektion"), CreativePart("cta", "Jetzt kaufen")),
        languages=("de",),
    )
    text = Describer().compose(_facts_with(german), "detailed").description
    assert "The text is in German." in text
    assert "german" in creative.tags(german)[-1].name
    # English alone is the norm, not worth a tag
    english = msgspec.structs.replace(german, languages=("en",))
    assert not {"english", "german"} & {t.name for t in creative.tags(english)}


def _balloons_post(round_: bool) -> np.ndarray:
    """A teal square post with three overlapping balloons (or, `round_`, three round
    badges of the same colours) below its text."""
    img = Image.new("RGB", (W, H), (30, 160, 140))
    d = ImageDraw.Draw(img)
    ry = 40 if round_ else 50
    for (x, y), fill in zip(
        [(120, 260), (200, 240), (270, 280)], [(230, 60, 80), (60, 140, 230), (250, 200, 40)], strict=True
    ):
        d.ellipse([x - 40, y - ry, x + 40, y + ry], fill=fill)
        d.line([(x, y + ry), (200, 390)], fill=(90, 90, 90), width=2)
    return np.asarray(img)


def test_balloons_are_drawn_elements_and_round_badges_are_not() -> None:
    rules = ct.table().drawn
    headline = (TextLine("10K followers!", 0.99, (0.1, 0.05, 0.9, 0.2)),)
    assert drawn_elements(_balloons_post(round_=False), headline, rules) == ("balloons",)
    assert drawn_elements(_balloons_post(round_=True), headline, rules) == ()
    flat = np.full((H, W, 3), 200, np.uint8)
    assert drawn_elements(flat, headline, rules) == ()
    assert drawn_elements(flat[:4, :4], (), rules) == ()  # too small to look at


def test_drawn_elements_are_said_and_tagged() -> None:
    found = CreativeFacts(
        kind="social post", format="square", parts=(CreativePart("headline", "Thanks"),), drawn=("balloons",)
    )
    assert "Drawn: balloons." in Describer().compose(_facts_with(found), "detailed").description
    assert "balloons" in {t.name for t in creative.tags(found)}


def test_the_language_model_loads_with_the_analyzer_and_keeps_only_its_candidates() -> None:
    from describe.analyzers.creative import CreativeReader

    language_id._identifier.cache_clear()
    reader = CreativeReader()
    assert not reader.loaded
    reader.load()  # with the other models, not at the first creative
    candidates = tuple(ct.table().languages.candidates)
    assert language_id._identifier.cache_info().currsize == 1
    model = language_id._identifier(candidates)
    assert model.nb_ptc.shape[1] == len(candidates)
    assert model._full_model[0] is model.nb_ptc  # the 97-language table is not kept
    assert language_id.languages(
        ["Jetzt kaufen und sparen, nur diese Woche im Laden"], ct.table().languages
    ) == ("de",)
