"""The curated ImageNet category map (describe/data/imagenet_categories.toml): a coarse
category for each of the 1000 classes, readable names, and which labels name a setting.

Data, not an analyzer: the phrase and caption code asks "is this label a place?" of
labels it is given, so it reads this module and never imports the classifier.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from describe.facts import Label

FALLBACK_CATEGORY = "object"


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[str, ...]  # every allowed category value
    by_index: tuple[str, ...]  # category of class i
    names: dict[int, str]  # readable names replacing the label file's first name
    place_categories: frozenset[str]
    places: frozenset[str]  # label names outside place_categories that are settings too
    printed: frozenset[str]  # label names of printed or displayed matter (a menu, a web site)


@cache
def taxonomy() -> Taxonomy:
    raw = tomllib.loads(files("describe").joinpath("data/imagenet_categories.toml").read_text("utf-8"))
    classes = {int(k): v for k, v in raw["classes"].items()}
    return Taxonomy(
        categories=tuple(raw["categories"]),
        by_index=tuple(classes.get(i, FALLBACK_CATEGORY) for i in range(max(classes) + 1)),
        names={int(k): v for k, v in raw["names"].items()},
        place_categories=frozenset(raw["place_categories"]),
        places=frozenset(raw["places"]),
        printed=frozenset(raw["printed"]),
    )


def category_of(index: int) -> str:
    by_index = taxonomy().by_index
    return by_index[index] if 0 <= index < len(by_index) else FALLBACK_CATEGORY


def is_place(label: Label) -> bool:
    """True for labels that say where a photo was taken (landscapes, buildings, piers, …)."""
    tax = taxonomy()
    return label.category in tax.place_categories or label.name in tax.places


def is_printed(name: str) -> bool:
    """True for labels that name printed or displayed matter (a menu, a web site, a book
    jacket): on a mostly-text image they describe the graphic, not a thing in it."""
    return name in taxonomy().printed
