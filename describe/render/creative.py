"""A creative in words: the lead sentence ("A square ad for sneakers on yellow: “NEW
ARRIVALS”, $59.99, a “Shop now” button."), the detailed profile's sentences about its
parts, its tags, and the describer's setting aside of the guesses its copy contradicts."""

from __future__ import annotations

import msgspec

from describe.facts import ColourFacts, CreativeFacts, Facts, LabelFacts, ObjectFacts, Tag
from describe.knowledge import creative_text as ct
from describe.knowledge import language_id
from describe.knowledge.language import join_and, sentence, with_article
from describe.render.templates import quote

# how the lead names a kind and a format ("social post" reads "social media post")
KIND_WORDS = {"social post": "social media post"}
FORMAT_WORDS = {
    "square": "square", "portrait": "4:5", "story": "9:16", "landscape": "1.91:1",
    "banner": "wide", "leaderboard": "leaderboard-size", "a-portrait": "A-series",
    "a-landscape": "A-series landscape",
}  # fmt: skip
# where the picture sits (CreativeFacts.product_position), as the layout sentence says it
PICTURE_AT = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom",
              "centre": "in the centre"}  # fmt: skip
MAX_PRICES = 3  # a menu's prices beyond these are in the text sentence
# tags of the creative's kind and format lead the tag list: they are what it is
CREATIVE_SOURCE = "creative"
TEXT_SOURCE = "text"


def is_creative(creative: CreativeFacts | None) -> bool:
    return bool(creative and creative.kind)


def lead(creative: CreativeFacts, colours: ColourFacts | None = None) -> str:
    """One sentence: kind, format, product, background and the parts a person reads first."""
    size = FORMAT_WORDS.get(creative.format, "")
    kind = KIND_WORDS.get(creative.kind, creative.kind)
    head = " ".join(w for w in (size, kind) if w)
    words = with_article(head)
    if creative.subject:
        words += f" for {creative.subject}"
    if colours and colours.palette and "flat colour" in creative.cues:
        words += f" on {colours.palette[0].family}"
    said: list[str] = []
    headline = creative.texts("headline")
    if headline:
        said.append(quote(headline[0]))
    said += creative.texts("price")[:MAX_PRICES]
    said += creative.texts("discount")[:2]
    said += [f"code {code}" for code in creative.texts("coupon")]
    said += [f"{with_article(cta).split()[0]} {quote(cta)} button" for cta in creative.texts("cta")[:2]]
    said += [quote(e) for e in creative.texts("event")[:2]]
    return sentence(f"{words}: {', '.join(said)}" if said else words)


def detail(creative: CreativeFacts) -> str:
    """The detailed profile's sentences: each part of the text by its role."""
    out = []
    subs = creative.texts("subheadline")
    if subs:
        out.append(f"The sub-headline reads {quote(subs[0])}.")
    prices = creative.texts("price")
    if prices:
        out.append(f"{'Prices' if len(prices) > 1 else 'The price'}: {join_and(prices)}.")
    discounts = creative.texts("discount")
    if discounts:
        out.append(f"The offer: {join_and(discounts)}.")
    codes = creative.texts("coupon")
    if codes:
        out.append(f"Coupon code {join_and(codes)}.")
    ctas = creative.texts("cta")
    if ctas:
        out.append(f"The call to action is {join_and([quote(c) for c in ctas])}.")
    events = creative.texts("event")
    if events:
        out.append(f"Event details: {join_and([quote(e) for e in events])}.")
    if creative.languages:
        names = [language_id.name(code, ct.table().languages) for code in creative.languages]
        out.append(f"The text is in {join_and(names)}.")
    if creative.drawn:
        out.append(f"Drawn: {join_and(list(creative.drawn))}.")
    brands = creative.texts("brand")
    if brands:
        out.append(f"The brand is {quote(brands[0])}.")
    if creative.layout:
        where = PICTURE_AT.get(creative.product_position, "")
        out.append(f"Layout: {creative.layout}{f', the picture {where}' if where else ''}.")
    elif creative.product_position in PICTURE_AT:
        out.append(f"The picture is {PICTURE_AT[creative.product_position]}.")
    return " ".join(out)


def tags(creative: CreativeFacts | None) -> list[Tag]:
    """The kind's and format's words (source "creative"), then the products the copy
    names, canonical and as written (source "text")."""
    if not is_creative(creative):
        return []
    assert creative is not None
    out = [Tag(word, CREATIVE_SOURCE) for word in creative.tags]
    out += [Tag(thing, CREATIVE_SOURCE, 0.8) for thing in creative.drawn]
    if "text only" in creative.cues:  # lettering on flat colour is a sign too
        out.append(Tag("sign", CREATIVE_SOURCE))
    out += [Tag(product, TEXT_SOURCE, 0.9) for product in creative.products]
    info = ct.table().product_info
    out += [Tag(word, TEXT_SOURCE, 0.8) for p in creative.products if p in info for word in info[p].also]
    if creative.subject:
        out.append(Tag(creative.subject, TEXT_SOURCE, 0.9))
    rules = ct.table().languages
    if set(creative.languages) - set(rules.untagged):  # "a German ad"; English alone is the norm
        out += [Tag(language_id.name(code, rules).lower(), TEXT_SOURCE, 0.8) for code in creative.languages]
    return out


def set_doubts_aside(facts: Facts) -> Facts:
    """The facts without the labels and detections a creative's copy contradicts: the
    detections join ObjectFacts.doubted, the labels are left out (the creative keeps
    their names)."""
    creative = facts.creative
    if not is_creative(creative) or creative is None:
        return facts
    changes: dict[str, object] = {}
    if creative.doubted_labels and facts.labels:
        gone = set(creative.doubted_labels)
        changes["labels"] = LabelFacts(labels=tuple(lb for lb in facts.labels.labels if lb.name not in gone))
    if creative.doubted_objects and facts.objects:
        gone = set(creative.doubted_objects)
        objects = facts.objects
        changes["objects"] = ObjectFacts(
            objects=tuple(o for o in objects.objects if o.label not in gone),
            counts=tuple(c for c in objects.counts if c.label not in gone),
            doubted=objects.doubted + tuple(o for o in objects.objects if o.label in gone),
        )
    return msgspec.structs.replace(facts, **changes) if changes else facts
