"""Where things are: positions, sizes and simple relations from detection boxes, and
what colour and texture say about a frame when no model names anything.

Everything here is structure (keys like "left", "fills", "on"); the words are in the
templates, so a profile can say them differently.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from describe.facts import Box, ColourFacts, CompositionFacts, DetectedObject, ObjectFacts
from describe.knowledge.language import plural_only
from describe.knowledge.vocabulary import object_category

MAX_NAMED_OBJECTS = 5
FILLS = 0.5  # a box over half the frame fills it …
FILLS_SIDE = 0.85  # … and so does one spanning most of both sides
LARGE = 0.2
SMALL = 0.02
FOREGROUND_BOTTOM = 0.92  # a box reaching the bottom edge, clearly lower than the others
FOREGROUND_AREA = 0.1
MAX_RELATIONS = 2
# Things other things are commonly on; "on" is only said of these, since two
# overlapping boxes alone are as often one thing in front of another.
SUPPORTS = frozenset(
    {
        "dining table",
        "bed",
        "couch",
        "chair",
        "bench",
        "horse",
        "elephant",
        "motorcycle",
        "bicycle",
        "surfboard",
        "skateboard",
        "boat",
        "toilet",
    }
)
BEHIND_AREA = 0.25  # only a big box is something others stand in front of
# Categories whose box centre shows what they hold, not what they are made of.
UNCOLOURED = frozenset({"tableware"})
MAX_PLACED = 3  # objects whose place the paragraph describes
# Scene cues. Mean |Laplacian| of the 128 px gray copy over 87 photos: product shots on
# white and soft close-ups 0.014–0.03; buildings, rooms, animals 0.05–0.1; a birch
# forest, an anemone reef and fur in close-up 0.14–0.2.
FINE_TEXTURE = 0.1
SMOOTH_TEXTURE = 0.03
DOMINANT_COVERAGE = 0.4  # one colour this much of the frame colours the whole image
# Only a blue top band reads as sky: white ones were as often walls, paper and snow.
SKY_FAMILY = "blue"
# Shares of describe/regions.py's surfaces that name them (measured there).
SKY_SHARE = 0.4
GRASS_SHARE = 0.5
GRASS_MARGIN = 0.2  # more green texture below than above: ground, not a hedge or a tree
GRASS_COVER = 0.8  # … unless the ground is nearly all of it (a lawn seen from above)
FOLIAGE_SHARE = 0.33


class ObjectEntry(msgspec.Struct, frozen=True):
    """One detected label with where and how it appears. Keeps ObjectCount's fields
    (label, count, score) so templates written for those still work."""

    label: str
    count: int
    score: float
    colour: str = ""  # colour family every instance shares; "" when unclear or mixed
    position: str = ""  # left, centre, right; sides (left and right), spread (across)
    size: str = ""  # fills, large, small; "" for in between (or mixed sizes)
    foreground: bool = False
    relation: str = ""  # on, in front of, beside: this thing relative to `other`
    other: str = ""  # the label of that other thing


class Placement(msgspec.Struct, frozen=True):
    """Objects that share a place in the frame, described together
    ('the horse and the sheep are large, in the centre')."""

    objects: tuple[ObjectEntry, ...]
    plural: bool  # takes a plural verb: several things, several of one, or a pair noun
    position: str = ""
    size: str = ""
    foreground: bool = False
    relation: str = ""
    other: str = ""
    other_fills: bool = False  # the other thing fills the frame (and is not placed again)


class Relation(msgspec.Struct, frozen=True):
    subject: str
    count: int
    kind: str  # on, in front of, beside
    other: str


class SceneCues(msgspec.Struct, frozen=True):
    """What the pixels say when no model names a subject."""

    sky: bool = False  # a blue top band over something else, or clear sky along the top
    grass: bool = False  # green texture over the bottom half
    foliage: bool = False  # green texture over the top half: trees, bushes, leaves
    bright_points: bool = False  # small bright spots on a dark frame
    dark: bool = False
    texture: str = ""  # fine, smooth; "" in between
    colour: str = ""  # the colour family covering much of the frame


def area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def third(box: Box) -> str:
    cx = (box[0] + box[2]) / 2
    return "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"


def size(box: Box) -> str:
    if area(box) >= FILLS or (box[2] - box[0] >= FILLS_SIDE and box[3] - box[1] >= FILLS_SIDE):
        return "fills"
    if area(box) >= LARGE:
        return "large"
    return "small" if area(box) < SMALL else ""


def _positions(boxes: Sequence[Box]) -> str:
    thirds = {third(b) for b in boxes}
    if len(thirds) == 1:
        return thirds.pop()
    return "sides" if thirds == {"left", "right"} else "spread"


def _sizes(boxes: Sequence[Box]) -> str:
    sizes = {size(b) for b in boxes}
    return sizes.pop() if len(sizes) == 1 else ""


def _foreground(box: Box, others: Sequence[Box]) -> bool:
    return (
        box[3] >= FOREGROUND_BOTTOM
        and FOREGROUND_AREA <= area(box) < FILLS
        and bool(others)
        and all(o[3] < box[3] - 0.1 for o in others)
    )


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def relation(a: Box, b: Box, other_label: str) -> str:
    """How box a stands to box b, when the geometry is clear; else ""."""
    height_b = b[3] - b[1]
    cx = (a[0] + a[2]) / 2
    if other_label in SUPPORTS and area(a) < area(b) and b[0] <= cx <= b[2]:
        on_top = b[1] - 0.05 <= a[3] <= b[1] + 0.6 * height_b and a[1] < b[1] + 0.3 * height_b
        # a table filling the frame is seen from above: what lies inside it is on it
        on_surface = size(b) == "fills" and _overlap(a, b) >= 0.95 * area(a) and area(a) <= 0.25 * area(b)
        if on_top or on_surface:
            return "on"
    if (
        area(b) >= BEHIND_AREA
        and area(a) <= 0.5 * area(b)
        and _overlap(a, b) >= 0.8 * area(a)
        and a[3] >= b[3] - 0.02
    ):
        return "in front of"
    smaller_h = min(a[3] - a[1], b[3] - b[1])
    vertical = min(a[3], b[3]) - max(a[1], b[1])
    gap = max(a[0], b[0]) - min(a[2], b[2])  # negative when they overlap
    narrower = min(a[2] - a[0], b[2] - b[0])
    if (
        vertical >= 0.5 * smaller_h
        and -0.2 * narrower <= gap <= 0.1
        and max(area(a), area(b)) <= 3 * min(area(a), area(b))
    ):
        return "beside"
    return ""


def _relations(groups: dict[str, list[DetectedObject]], order: list[str]) -> dict[str, Relation]:
    """At most one relation per thing, to a single other thing (so 'the table' is definite),
    holding for every instance; 'on' is preferred over 'in front of' over 'beside'."""
    found: dict[str, Relation] = {}
    used: set[str] = set()
    for kind in ("on", "in front of", "beside"):
        for label in order:
            if label in found or len(found) >= MAX_RELATIONS:
                continue
            for other in order:
                if other == label or len(groups[other]) != 1 or (kind == "beside" and other in used):
                    continue
                base = groups[other][0]
                if kind == "beside" and len(groups[label]) != 1:
                    continue
                if all(relation(o.box, base.box, other) == kind for o in groups[label]):
                    found[label] = Relation(label, len(groups[label]), kind, other)
                    used |= {label, other}
                    break
    return found


def object_entries(objects: ObjectFacts | None, colours: ColourFacts | None = None) -> list[ObjectEntry]:
    """The named objects (most prominent first) with colour, position, size and relations."""
    if not objects or not objects.counts:
        return []
    shades = colours.object_colours if colours else ()
    groups: dict[str, list[DetectedObject]] = {}
    colour_of: dict[str, set[str]] = {}
    for i, obj in enumerate(objects.objects):
        groups.setdefault(obj.label, []).append(obj)
        colour_of.setdefault(obj.label, set()).add(shades[i] if i < len(shades) else "")
    named = objects.counts[:MAX_NAMED_OBJECTS]
    order = [c.label for c in named if c.label in groups]
    relations = _relations(groups, order)
    entries = []
    for count in named:
        boxes = [o.box for o in groups.get(count.label, [])]
        if not boxes:  # counts without boxes (hand-made facts): nothing to place
            entries.append(ObjectEntry(count.label, count.count, count.score))
            continue
        others = [o.box for label, g in groups.items() if label != count.label for o in g]
        shared = colour_of[count.label]
        colour = shared.pop() if len(shared) == 1 else ""
        if colour in count.label.split() or object_category(count.label) in UNCOLOURED:
            colour = ""  # "an orange orange" says nothing twice; a cup's centre is its coffee
        rel = relations.get(count.label)
        entries.append(
            ObjectEntry(
                label=count.label,
                count=count.count,
                score=count.score,
                colour=colour,
                position=_positions(boxes),
                size=_sizes(boxes),
                foreground=len(boxes) == 1 and _foreground(boxes[0], others),
                relation=rel.kind if rel else "",
                other=rel.other if rel else "",
            )
        )
    return entries


def placements(entries: Sequence[ObjectEntry], limit: int = MAX_PLACED) -> list[Placement]:
    """The first `limit` placed objects, those in the same place grouped, in order."""
    groups: dict[tuple[str, str, bool, str, str], list[ObjectEntry]] = {}
    # a frame-filling thing others are on is said once: "the cup is on the table, which fills …"
    under = {e.other for e in entries if e.relation}
    filling = {e.label for e in entries if e.size == "fills" and e.label in under}
    for entry in [e for e in entries if e.position and e.label not in filling][:limit]:
        key = (entry.position, entry.size, entry.foreground, entry.relation, entry.other)
        groups.setdefault(key, []).append(entry)
    return [
        Placement(
            objects=tuple(group),
            plural=len(group) > 1 or group[0].count > 1 or plural_only(group[0].label),
            position=position,
            size=size,
            foreground=foreground,
            relation=kind,
            other=other,
            other_fills=other in filling,
        )
        for (position, size, foreground, kind, other), group in groups.items()
    ]


def relations(entries: Sequence[ObjectEntry]) -> list[Relation]:
    return [Relation(e.label, e.count, e.relation, e.other) for e in entries if e.relation]


def cues(colours: ColourFacts | None, composition: CompositionFacts | None) -> SceneCues:
    if colours is None:
        return SceneCues(dark=bool(composition and composition.lighting == "dark"))
    top, _, bottom = (*colours.bands, "", "", "")[:3]
    plain = bool(composition and composition.plain_background)
    # a banner or a sign in blue and green is graphics, not a landscape
    graphic = plain or bool(composition and composition.text_heavy)
    shares = colours.regions
    sky = (top == SKY_FAMILY and bottom != top and not colours.grayscale and not plain) or (
        shares.sky >= SKY_SHARE and not graphic
    )
    grass = not graphic and (
        shares.green_below >= GRASS_COVER
        or (shares.green_below >= GRASS_SHARE and shares.green_below - shares.green_above >= GRASS_MARGIN)
    )
    foliage = not graphic and shares.green_above >= FOLIAGE_SHARE
    main = colours.palette[0] if colours.palette else None
    texture = (
        "fine"
        if colours.texture >= FINE_TEXTURE
        else "smooth"
        if 0 < colours.texture <= SMOOTH_TEXTURE
        else ""
    )
    return SceneCues(
        sky=sky,
        grass=grass,
        foliage=foliage,
        bright_points=colours.bright_points,
        dark=bool(composition and composition.lighting == "dark"),
        texture=texture,
        colour=main.family if main and main.coverage >= DOMINANT_COVERAGE and not colours.grayscale else "",
    )
