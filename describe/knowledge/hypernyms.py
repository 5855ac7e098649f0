"""Searchable ancestor words (WordNet hypernyms) for the 1000 ImageNet-1k label classes.

A daisy is also a "flower" and a "plant", a beagle a "hound" and a "dog": these
general words let a search for "flower" find the daisy. The data is generated
from WordNet 3.0 by tools/build_hypernyms.py into
``describe/data/imagenet_hypernyms.toml``; the class index is the line of
efficientnet_labels.txt, as in imagenet_categories.toml.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files


@cache
def _words_by_index() -> dict[int, tuple[str, ...]]:
    raw = tomllib.loads(files("describe").joinpath("data/imagenet_hypernyms.toml").read_text("utf-8"))
    return {int(index): tuple(words) for index, words in raw["classes"].items()}


def hypernyms(index: int) -> tuple[str, ...]:
    """The ancestor words of ImageNet class ``index``, nearest first; () for an unknown index."""
    return _words_by_index().get(index, ())
