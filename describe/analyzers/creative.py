"""Creatives: is this a marketing image (an ad, a post, a story, a banner, a poster, a
flyer, a menu, a coupon, a job ad), which kind and format, and what do its words say:
headline, calls to action, prices, discounts, coupon codes, event details, the brand and
the product (issue 27).

Decided from what the other analyzers found (the OCR lines and their boxes, the
composition) and two cheap looks at the pixels: how much of the frame a few flat colours
fill, and whether a short imperative sits on a filled shape (a button). Every threshold,
pattern and rule is data (describe/data/creative.toml, read by
describe/knowledge/creative_text.py); this module only measures and applies them.

The classifier and the detector were trained on photos; on a creative they name the
nearest photo ("guitar pick" for a drawn sneaker, "stop sign" for a round price badge).
Where the copy names a product they do not support, their guesses are doubted here
(`doubted_labels`, `doubted_objects`) and the describer sets them aside, as it does with
the detections the classifier contradicts (describe/knowledge/crosscheck.py).
"""

from __future__ import annotations

import re

import numpy as np

from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.analyzers.creative_drawn import drawn_elements
from describe.analyzers.creative_position import picture_position
from describe.facts import CreativeFacts, CreativePart, Facts, Label, TextLine
from describe.intake import PreparedImage
from describe.knowledge import creative_text as ct
from describe.knowledge.language_id import languages, load_language_model
from describe.knowledge.vocabulary import normalise_tag
from describe.registry import register

# Coarse colours for the flat-colour share: 8 levels a channel, on a copy this wide.
FLAT_SIDE = 160
FLAT_LEVELS = 32  # 256 / 8
FLAT_TOP = 8
# A button: the ring just around a text box is one colour (most of its pixels within this
# distance of its median) and differs from the ring further out by more than BUTTON_CONTRAST.
BUTTON_UNIFORM = 0.7
BUTTON_NEAR = 40.0
BUTTON_CONTRAST = 45.0
# Guesses the copy overrules: a classifier label or a detection below this, when the copy
# names a product they are not
DOUBT_BELOW = 0.6
# Ancestors too wide to be what an ad is for
GENERIC_SEEN = frozenset(
    {"object", "thing", "whole", "entity", "artifact", "device", "instrumentality", "food", "animal",
     "organism", "person", "covering", "structure", "container", "commodity"}
)  # fmt: skip
# Share of an em a line's box spans with descenders (gjpqy), and without (capitals, x-height)
DESCENDERS = frozenset("gjpqy,;()[]")
DESCENDER_SHARE = 1.0
CAPS_SHARE = 0.78
# A line this much smaller than the headline is body text, not a sub-headline.
SUB_RATIO = 0.55


class CreativeOptions(AnalyzerOptions):
    # the recognition threshold of describe/data/creative.toml, overridable per install
    threshold: float | None = None


@register("creative", "creatives")
class CreativeReader(BaseAnalyzer):
    name = "creative"
    produces = "creative"
    requires = ("objects", "labels", "text", "colours", "composition")
    # the language-ID model: loaded with the others, while the process is small, rather
    # than in the middle of indexing at the first creative (its load briefly takes 100 MB:
    # the indexing process's peak, in-process on the bench samples, 592 -> 561 MB)
    needs_model = True
    Options = CreativeOptions
    opts: CreativeOptions

    def _load(self) -> None:
        load_language_model(ct.table().languages)

    def _analyze(self, image: PreparedImage, facts: Facts) -> CreativeFacts:
        return read_creative(image.rgb, facts, self.opts.threshold)


def read_creative(rgb: np.ndarray, facts: Facts, threshold: float | None = None) -> CreativeFacts:
    t = ct.table()
    rules = t.recognise
    lines = list(facts.text.lines) if facts.text else []
    if (
        len(lines) < rules.no_text_below
        or sum(c.isalpha() for line in lines for c in line.text) < rules.min_letters
    ):
        return CreativeFacts()
    h, w = rgb.shape[:2]
    aspect = w / max(h, 1)
    fmt = ct.fit_format(aspect, t)
    parts = _parts(rgb, lines, t)
    # an offer set over several lines ("BUY 1" / "GET 1" / "FREE") is one discount
    joined = " ".join(line.text for line in lines)
    said = {p.text for p in parts if p.role == "discount"}
    across = [d for d in ct.discounts(joined, t) if not _within(d, said)]
    parts += [CreativePart("discount", d) for d in across[:1]]
    found = {p.role for p in parts}
    cues: dict[str, float] = {}
    coverage = facts.text.coverage if facts.text else 0.0
    if coverage >= rules.text_coverage:
        cues["text coverage"] = rules.text_coverage_weight
    if max(line.box[3] - line.box[1] for line in lines) >= rules.headline_height:
        cues["display type"] = rules.headline_weight
    if len(lines) >= rules.min_lines:
        cues["lines"] = rules.lines_weight
    flat = flat_share(rgb)
    if flat >= rules.flat_share:
        cues["flat colour"] = rules.flat_weight
    for role, weight in (("price", rules.price_weight), ("discount", rules.discount_weight),
                         ("cta", rules.cta_weight), ("coupon", rules.coupon_weight),
                         ("event", rules.event_weight)):  # fmt: skip
        if role in found:
            cues[role] = weight
    if flat >= rules.text_only_flat and not (facts.objects and facts.objects.counts):
        cues["text only"] = 0.0  # no weight: it only says how to name it
    if fmt and fmt not in ("landscape",):  # 1.91:1 is close to a camera's 16:9 crop
        cues["format"] = rules.format_weight
    score = round(sum(cues.values()), 2)
    if score < (rules.threshold if threshold is None else threshold):
        return CreativeFacts(score=score, cues=tuple(cues))
    texts = [line.text for line in lines]
    price_lines = sum(1 for line in texts if ct.prices(line, t))
    rule = ct.choose_kind(texts, found, fmt, price_lines, t)
    if not rule.kind:
        return CreativeFacts(score=score, cues=tuple(cues))
    named = [
        pair
        for p in parts
        if p.role in ("headline", "subheadline", "body")
        for pair in ct.products(p.text, t)
    ]
    named += [pair for line in texts for pair in ct.products(line, t)]
    if not named:  # a thing the copy names that the models also see: "Meet Rex! Our new office dog"
        copy = [p.text for p in parts if p.role in ("headline", "subheadline", "body")]
        named = _seen_and_named(copy, facts)
    subject = named[0][1] if named else ""
    products = tuple(dict.fromkeys(name for name, _ in named))
    format_words = t.formats[fmt].words if fmt else []
    doubted_labels, doubted_objects = _doubts(facts, products, [words for _, words in named], t)
    return CreativeFacts(
        kind=rule.kind,
        format=fmt,
        format_name=format_words[0] if format_words else "",
        layout=_layout(lines, facts),
        score=score,
        cues=tuple(cues),
        parts=tuple(parts),
        subject=subject,
        products=products,
        tags=tuple(dict.fromkeys([*rule.tags, *format_words[1:]])),
        doubted_labels=doubted_labels,
        doubted_objects=doubted_objects,
        languages=languages(texts, t.languages),
        drawn=drawn_elements(rgb, lines, t.drawn),
        product_position=picture_position(rgb, lines, t.position),
    )


def flat_share(rgb: np.ndarray) -> float:
    """Share of the frame the FLAT_TOP commonest coarse colours fill: near 1 for a flat
    graphic, well under half for a photo's gradients and texture."""
    h, w = rgb.shape[:2]
    step = max(1, max(h, w) // FLAT_SIDE)
    small = rgb[::step, ::step].reshape(-1, 3).astype(np.int32) // FLAT_LEVELS
    codes = small[:, 0] * 64 + small[:, 1] * 8 + small[:, 2]
    counts = np.bincount(codes, minlength=512)
    return float(np.sort(counts)[-FLAT_TOP:].sum() / max(codes.size, 1))


def _parts(rgb: np.ndarray, lines: list[TextLine], t: ct.Table) -> list[CreativePart]:
    """Each line's role; a line may give several parts (a price and a discount)."""
    heights = [type_size(line) for line in lines]
    buttons = [ct.is_cta(line.text, on_button(rgb, line.box), t) for line in lines]
    # the headline: the largest type that is words (not a price or a discount alone, not a
    # button, whose box the detector stretches over the button's padding)
    wordy = [
        h if _words_left(line.text, t) and not button and not ct.coupons(line.text, t) else 0.0
        for line, h, button in zip(lines, heights, buttons, strict=True)
    ]
    head = int(np.argmax(wordy if max(wordy) > 0 else heights))
    out: list[CreativePart] = []
    for i, line in enumerate(lines):
        text, box = line.text, line.box
        got: list[CreativePart] = [CreativePart("headline", text, box)] if i == head else []
        got += [CreativePart("coupon", code, box) for code in ct.coupons(text, t)]
        got += [CreativePart("price", price, box) for price in ct.prices(text, t)]
        got += [CreativePart("discount", d, box) for d in ct.discounts(text, t)]
        if buttons[i]:
            got.append(CreativePart("cta", text, box))
        if ct.event_details(text, t) and not got:
            got.append(CreativePart("event", text, box))
        if ct.is_phone(text, t) and not got:
            got.append(CreativePart("phone", text, box))
        if ct.is_brand(text, t):
            got.append(CreativePart("brand", text, box))
        if not got:
            role = "subheadline" if heights[i] >= SUB_RATIO * heights[head] else "body"
            got.append(CreativePart(role, text, box))
        out += got
    return out


def _within(found: str, said: set[str]) -> bool:
    return any(found in other or other in found for other in said)


def type_size(line: TextLine) -> float:
    """The line's type size (em) as a share of the frame's height, from its box: capitals
    and x-height letters fill less of an em than a line with descenders ("BLACK FRIDAY"
    is bigger type than "up to 70% off" in a box of the same height)."""
    height = line.box[3] - line.box[1]
    return height / (DESCENDER_SHARE if any(c in DESCENDERS for c in line.text) else CAPS_SHARE)


def _words_left(text: str, t: ct.Table) -> bool:
    """Whether a line says more than its prices and discounts ("-30%" alone does not)."""
    for found in (*ct.prices(text, t), *ct.discounts(text, t)):
        text = text.replace(found, " ")
    return sum(c.isalpha() for c in text) >= 3


def on_button(rgb: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Text on a filled shape: the ring just around its box is one colour, unlike the ring
    further out (a button on a flat background or on a photo)."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    line = max(y1 - y0, 1.0)

    def ring(inner: tuple[float, float], outer: tuple[float, float]) -> np.ndarray:
        ox0, oy0 = max(0, int(x0 - outer[0] * line)), max(0, int(y0 - outer[1] * line))
        ox1, oy1 = min(w, int(x1 + outer[0] * line)), min(h, int(y1 + outer[1] * line))
        mask = np.ones((oy1 - oy0, ox1 - ox0), dtype=bool)
        ix0, iy0 = int(x0 - inner[0] * line) - ox0, int(y0 - inner[1] * line) - oy0
        ix1, iy1 = int(x1 + inner[0] * line) - ox0, int(y1 + inner[1] * line) - oy0
        mask[max(0, iy0) : max(0, iy1), max(0, ix0) : max(0, ix1)] = False
        return rgb[oy0:oy1, ox0:ox1][mask].astype(np.float32)

    # the box's own border strip: the detector's boxes reach past the glyphs, onto a button
    near, far = ring((-0.12, -0.12), (0.1, 0.1)), ring((1.0, 0.7), (1.4, 1.0))
    if near.size == 0 or far.size == 0:
        return False
    centre = np.median(near, axis=0)
    uniform = float((np.linalg.norm(near - centre, axis=1) < BUTTON_NEAR).mean())
    far_centre = np.median(far, axis=0)
    return uniform >= BUTTON_UNIFORM and float(np.linalg.norm(centre - far_centre)) > BUTTON_CONTRAST


def _layout(lines: list[TextLine], facts: Facts) -> str:
    """Where the text sits: left, right, top, bottom, over a photo, or centred."""
    x0 = min(line.box[0] for line in lines)
    x1 = max(line.box[2] for line in lines)
    y0 = min(line.box[1] for line in lines)
    y1 = max(line.box[3] for line in lines)
    textured = facts.colours is not None and facts.colours.texture >= 0.06
    if x1 <= 0.6:
        return "text left"
    if x0 >= 0.4:
        return "text right"
    if y1 <= 0.6:
        return "text top"
    if y0 >= 0.4:
        return "text bottom"
    return "text over photo" if textured else "text centred"


def _seen_and_named(lines: list[str], facts: Facts) -> list[tuple[str, str]]:
    """(thing, words as written) for each word or two of the copy that names a label the
    classifier gave (any candidate, synonym or ancestor) or a detection: the copy and the
    models agree."""
    seen: dict[str, str] = {}
    for lb in facts.labels.labels if facts.labels else ():
        for name in (lb.name, *lb.synonyms, *lb.hypernyms):
            seen.setdefault(normalise_tag(name), lb.name)
    for count in facts.objects.counts if facts.objects else ():
        seen.setdefault(normalise_tag(count.label), count.label)
    out = []
    for line in lines:
        words = re.findall(r"[^\W\d_]+", line.lower())
        for n in (2, 1):
            for i in range(len(words) - n + 1):
                phrase = " ".join(words[i : i + n])
                key = normalise_tag(phrase)
                if key in seen and key not in GENERIC_SEEN:
                    out.append((key, phrase))
    return out


def _doubts(
    facts: Facts, products: tuple[str, ...], words: list[str], t: ct.Table
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The classifier's labels and the detector's objects the copy contradicts: on any
    creative, what the models call a flat graphic (a "book jacket", a "web site") and a round
    badge (a "stop sign") unless the copy names them; with a product named, an unsure label
    in none of the categories a picture of it falls in (a "guitar pick" on a sneaker ad)."""
    said = {normalise_tag(w) for w in [*products, *words]}
    info = t.product_info
    categories = {c for p in products if p in info for c in info[p].categories}
    if any(p not in info or not info[p].categories for p in products):
        # a product that can look like anything (a ticket, a trip) contradicts nothing, nor
        # does a thing the models themselves named
        categories = set()
    labels: list[Label] = list(facts.labels.labels) if facts.labels else []
    doubted_labels = [
        lb.name
        for lb in labels
        if not _related(lb.name, lb.synonyms, lb.hypernyms, said)
        and (
            lb.name in t.graphic_labels
            or (categories and lb.score < DOUBT_BELOW and lb.category not in categories)
        )
    ]
    objects = facts.objects.objects if facts.objects else ()
    doubted_objects = [
        o.label for o in objects if o.label in t.badge_objects and not _related(o.label, (), (), said)
    ]
    return tuple(dict.fromkeys(doubted_labels)), tuple(dict.fromkeys(doubted_objects))


def _related(name: str, synonyms: tuple[str, ...], hypernyms: tuple[str, ...], said: set[str]) -> bool:
    names = {normalise_tag(n) for n in (name, *synonyms, *hypernyms)}
    return bool(names & said) or any(s in n or n in s for s in said for n in names if s and n)
