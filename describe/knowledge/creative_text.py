"""A creative's text read as parts: prices, discounts, coupon codes, calls to action, event
details, a brand, and the product the copy names. The patterns, word lists, formats and
kind rules are data (describe/data/creative.toml); this compiles and applies them. Every
function takes any text and never raises on it (a bad pattern in the data is a ConfigError
when the table loads)."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import msgspec

from describe.errors import ConfigError


class Recognise(msgspec.Struct, forbid_unknown_fields=True):
    threshold: float = 3.0
    text_coverage: float = 0.02
    text_coverage_weight: float = 1.0
    headline_height: float = 0.045
    headline_weight: float = 1.0
    min_lines: int = 2
    lines_weight: float = 0.5
    flat_share: float = 0.45
    flat_weight: float = 1.0
    text_only_flat: float = 0.85
    price_weight: float = 1.0
    discount_weight: float = 1.0
    cta_weight: float = 1.5
    coupon_weight: float = 2.0
    event_weight: float = 0.5
    format_weight: float = 0.5
    no_text_below: int = 2
    min_letters: int = 10


class Format(msgspec.Struct, forbid_unknown_fields=True):
    words: list[str]
    ratio: float = 0.0
    tolerance: float = 0.0
    min_ratio: float = 0.0
    max_ratio: float = 0.0

    def fits(self, aspect: float) -> bool:
        if self.ratio:
            return abs(aspect / self.ratio - 1.0) <= self.tolerance
        return self.min_ratio <= aspect < self.max_ratio


class KindRule(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    tags: list[str]
    words: list[str] = []
    min_matches: int = 1
    parts: list[str] = []
    any_parts: list[str] = []
    formats: list[str] = []
    min_prices: int = 0


class PartRules(msgspec.Struct, forbid_unknown_fields=True):
    cta_verbs: list[str]
    cta_urgent: list[str]
    cta_max_words: int
    price: str
    not_price_after: list[str]
    not_price_before: list[str]
    discount: list[str]
    coupon: str
    date: list[str]
    time: list[str]
    venue: list[str]
    phone: list[str]
    brand: list[str]
    item: str = "$^"


class _Doubt(msgspec.Struct, forbid_unknown_fields=True):
    graphic_labels: list[str] = []
    badge_objects: list[str] = []


class Product(msgspec.Struct, forbid_unknown_fields=True):
    words: list[str]
    categories: list[str] = []  # the classifier's categories a picture of it falls in
    also: list[str] = []  # wider words people search it by


class Languages(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    candidates: tuple[str, ...] = ("en",)
    min_letters: int = 12
    min_confidence: float = 0.9
    line_min_letters: int = 20
    line_min_confidence: float = 0.98
    untagged: tuple[str, ...] = ()
    names: dict[str, str] = {}


class Drawn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Balloons: filled ellipses in saturated colours (describe/analyzers/creative_drawn.py)."""

    min_saturation: int = 100  # HSV, 0-255
    min_value: int = 80
    min_area: float = 0.004  # share of the frame
    max_area: float = 0.10
    min_tall: float = 1.15  # height / width
    max_tall: float = 1.6
    min_ellipse_iou: float = 0.85
    balloons_min: int = 2  # balloons in this many colours


class Position(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where the picture sits (describe/analyzers/creative_position.py)."""

    min_difference: float = 20.0  # RGB distance from the row's background that is foreground
    max_sides_differ: float = 0.3  # more rows than this with sides of two colours: a photo
    # the margin around a text box its button or badge fills, in line heights (across, down)
    reach: tuple[float, float] = (0.6, 1.0)
    min_region: float = 0.003  # a region smaller than this share of the frame is decoration
    min_share_of_largest: float = 0.2  # regions at least this share of the largest make the picture
    min_picture: float = 0.03  # the picture's bounding box is at least this share of the frame
    centre: float = 0.12  # a picture whose centre is this close to the frame's is in the centre


class _Table(msgspec.Struct, forbid_unknown_fields=True):
    recognise: Recognise
    formats: dict[str, Format]
    kinds: list[KindRule]
    parts: PartRules
    products: dict[str, Product] = {}
    doubt: _Doubt = msgspec.field(default_factory=lambda: _Doubt())
    languages: Languages = msgspec.field(default_factory=Languages)
    drawn: Drawn = msgspec.field(default_factory=Drawn)
    position: Position = msgspec.field(default_factory=Position)


class Table(msgspec.Struct, frozen=True):
    recognise: Recognise
    formats: dict[str, Format]
    kinds: list[tuple[KindRule, tuple[re.Pattern[str], ...]]]
    cta: re.Pattern[str]
    cta_urgent: re.Pattern[str]
    cta_max_words: int
    price: re.Pattern[str]
    not_price_after: re.Pattern[str]
    not_price_before: re.Pattern[str]
    discount: tuple[re.Pattern[str], ...]
    coupon: re.Pattern[str]
    event: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]  # (date|time|venue, patterns)
    phone: tuple[re.Pattern[str], ...]
    brand: tuple[re.Pattern[str], ...]
    item: re.Pattern[str]
    products: tuple[tuple[str, re.Pattern[str]], ...]
    product_info: dict[str, Product]
    graphic_labels: frozenset[str]
    badge_objects: frozenset[str]
    languages: Languages
    drawn: Drawn
    position: Position


def _re(pattern: str, where: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(f"creative.toml: {where} has a bad pattern {pattern!r}: {exc}") from exc


def _any(patterns: list[str], where: str) -> tuple[re.Pattern[str], ...]:
    return tuple(_re(p, where) for p in patterns)


def compile_table(data: bytes) -> Table:
    try:
        raw = msgspec.toml.decode(data, type=_Table)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"creative.toml: {exc}") from None
    p = raw.parts
    verbs = "|".join(p.cta_verbs)
    return Table(
        recognise=raw.recognise,
        formats=raw.formats,
        kinds=[(rule, _any(rule.words, f"kind {rule.kind!r}")) for rule in raw.kinds],
        cta=_re(rf"^\W*(?:{verbs})\b", "cta_verbs"),
        cta_urgent=_re(rf"\b(?:{'|'.join(p.cta_urgent)})\W*$", "cta_urgent"),
        cta_max_words=p.cta_max_words,
        price=_re(p.price, "price"),
        not_price_after=_re(rf"\b(?:{'|'.join(p.not_price_after)})\s*$", "not_price_after"),
        not_price_before=_re(rf"^\s*(?:{'|'.join(p.not_price_before)})\b", "not_price_before"),
        discount=_any(p.discount, "discount"),
        # the keyword in any case, the code itself in capitals and digits as printed
        coupon=_re(p.coupon, "coupon", 0),
        event=(
            ("date", _any(p.date, "date")),
            ("time", _any(p.time, "time")),
            ("venue", _any(p.venue, "venue")),
        ),
        phone=_any(p.phone, "phone"),
        brand=_any(p.brand, "brand"),
        item=_re(p.item, "item"),
        products=tuple(
            (name, _re(r"\b(?:" + "|".join(product.words) + r")\b", f"product {name!r}"))
            for name, product in raw.products.items()
        ),
        product_info=raw.products,
        graphic_labels=frozenset(raw.doubt.graphic_labels),
        badge_objects=frozenset(raw.doubt.badge_objects),
        languages=raw.languages,
        drawn=raw.drawn,
        position=raw.position,
    )


@lru_cache(maxsize=1)
def table() -> Table:
    return compile_table(resources.files("describe").joinpath("data/creative.toml").read_bytes())


def prices(line: str, t: Table | None = None) -> list[str]:
    """'Laptops from $499' → ['from $499']; 'on groceries over $35' → [] (a threshold);
    '$10 off $50' → [] (a discount)."""
    t = t or table()
    out = []
    for m in t.price.finditer(line):
        if t.not_price_after.search(line[: m.start()]) or t.not_price_before.search(line[m.end() :]):
            continue
        out.append(" ".join(m.group(0).split()))
    return out


def discounts(line: str, t: Table | None = None) -> list[str]:
    t = t or table()
    found = [" ".join(m.group(0).split()) for p in t.discount for m in p.finditer(line)]
    # one offer matched by two patterns ("BUY 1 GET 1") is said once; "60% off" and "up to 60%" are two
    return list(dict.fromkeys(found))


def coupons(line: str, t: Table | None = None) -> list[str]:
    """'CODE: SPRING20' → ['SPRING20']: the code has a digit, or is five capitals or more."""
    t = t or table()
    found = []
    for m in _keyword_any_case(t.coupon).finditer(line):
        code = m.group(1)
        if (code.isupper() or code.isdigit()) and (any(c.isdigit() for c in code) or len(code) >= 5):
            found.append(code)
    return found


@lru_cache(maxsize=4)
def _keyword_any_case(pattern: re.Pattern[str]) -> re.Pattern[str]:
    # the keyword may be "Code", "CODE" or "code"; the code group stays case-sensitive
    source = pattern.pattern
    head, sep, rest = source.partition("(?:")
    keywords, close, tail = rest.partition(")")
    return re.compile(f"{head}{sep}(?i:{keywords}){close}{tail}")


def is_cta(line: str, on_button: bool, t: Table | None = None) -> bool:
    """A short imperative ('Shop now', 'Get a quote') on a button, or one that ends with
    an urgent word ('Apply today') without one."""
    t = t or table()
    words = line.split()
    if not words or len(words) > t.cta_max_words or any(c.isdigit() for c in line):
        return False
    return bool(t.cta.search(line)) and (on_button or bool(t.cta_urgent.search(line)))


def event_details(line: str, t: Table | None = None) -> list[str]:
    """Which of date, time, venue the line gives; none for a menu item ("Club sandwich 8.50")."""
    t = t or table()
    if t.item.search(line):
        return []
    return [name for name, patterns in t.event if any(p.search(line) for p in patterns)]


def is_phone(line: str, t: Table | None = None) -> bool:
    t = t or table()
    return any(p.search(line) for p in t.phone)


def is_brand(line: str, t: Table | None = None) -> bool:
    t = t or table()
    return any(p.search(line) for p in t.brand)


def products(line: str, t: Table | None = None) -> list[tuple[str, str]]:
    """(product, the words as written) for each product the line names, in the order the
    line names them: 'Street Runner sneakers' → [('shoe', 'sneakers')]."""
    t = t or table()
    hits = [
        (m.start(), -len(m.group(0)), name, m.group(0).lower())
        for name, p in t.products
        for m in [p.search(line)]
        if m
    ]
    # the longest product a place in the line names: "kitchen scale", not "kitchen"
    return [(name, words) for _, _, name, words in sorted(hits)]


def fit_format(aspect: float, t: Table | None = None) -> str:
    """The format whose aspect ratio the image has, or ''."""
    t = t or table()
    return next((name for name, f in t.formats.items() if f.fits(aspect)), "")


def choose_kind(
    lines: list[str], found: set[str], fmt: str, price_lines: int, t: Table | None = None
) -> KindRule:
    """The first kind rule every condition of which holds (the last has none)."""
    t = t or table()
    for rule, patterns in t.kinds:
        if rule.formats and fmt not in rule.formats:
            continue
        if rule.parts and not set(rule.parts) <= found:
            continue
        if rule.any_parts and not set(rule.any_parts) & found:
            continue
        if price_lines < rule.min_prices:
            continue
        if patterns and sum(any(p.search(line) for p in patterns) for line in lines) < rule.min_matches:
            continue
        return rule
    return t.kinds[-1][0]
