"""The Describer end to end with the real offline models on real photos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.dev.samples import render_sign
from describe import registry
from describe.analyzers.base import BaseAnalyzer
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.errors import ConfigError, NotAnImageError, UnknownNameError
from describe.facts import Caption, Facts
from describe.intake import PreparedImage
from tests.conftest import encode

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def describer() -> Describer:
    d = Describer()
    d.load()
    return d


def test_coffee_photo(describer: Describer, photos: dict[str, np.ndarray]) -> None:
    result = describer.describe(encode(photos["coffee"], "JPEG"), name="coffee.jpg")
    assert "cup" in result.tags
    assert result.description.startswith("An image of a cup")
    assert result.captioner == "classic"
    assert result.colors and all(0 < c.coverage <= 1 for c in result.colors)
    assert result.text == ""
    assert {
        "objects",
        "labels",
        "text",
        "colours",
        "composition",
        "classic",
        "decode",
        "render",
        "total",
    } <= set(result.timings_ms)


def test_cat_photo(describer: Describer, photos: dict[str, np.ndarray]) -> None:
    result = describer.describe(encode(photos["chelsea"]))
    assert "cat" in result.tags and "animal" in result.tags
    assert "cat" in result.description
    assert [o.label for o in result.objects] == ["cat"]


def test_sign_text_is_read_and_quoted(describer: Describer) -> None:
    sign = render_sign("SUMMER SALE", "50% OFF", (200, 30, 40), (255, 255, 255))
    result = describer.describe(encode(np.asarray(sign)))
    assert result.text.split() == ["SUMMER", "SALE", "50%", "OFF"]
    assert "“SUMMER SALE 50% OFF”" in result.description
    assert "text" in result.tags and "red" in result.tags


def test_grayscale_photo(describer: Describer, photos: dict[str, np.ndarray]) -> None:
    result = describer.describe(encode(photos["camera"]))
    assert "black-and-white" in result.description
    assert "black and white" in result.tags


def test_profiles_change_output_not_facts(describer: Describer, photos: dict[str, np.ndarray]) -> None:
    data = encode(photos["chelsea"])
    tags_only = describer.describe(data, profile="tags")
    assert tags_only.description == ", ".join(tags_only.tags)
    alt = describer.describe(data, profile="alt")
    assert len(alt.description) <= 125
    detailed = describer.describe(data, profile="detailed")
    assert "shot" in detailed.description and len(detailed.description) > len(alt.description)
    # the alt profile does not need colours or composition, so they are not computed
    assert alt.colors == [] and alt.composition is None


def test_bad_input_is_a_clear_error(describer: Describer) -> None:
    with pytest.raises(NotAnImageError, match=r"notes\.txt: not an image"):
        describer.describe(b"hello", name="notes.txt")


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown captioner 'gpt'; valid: .*classic"):
        Describer(DescribeSettings(captioner="gpt"))
    with pytest.raises(UnknownNameError, match="unknown profile"):
        Describer(DescribeSettings(profile="fancy"))


@pytest.fixture()
def fake_captioner() -> Callable[[], Any]:
    calls: list[str] = []

    @registry.register("test-captioner")
    class FakeCaptioner(BaseAnalyzer):
        name = "test-captioner"
        produces = "caption"
        needs_model = False

        def _analyze(self, image: PreparedImage, facts: Facts) -> Caption:
            calls.append(image.source)
            return Caption("A hand-written caption about a teapot", self.name)

    yield lambda: calls
    registry.unregister("test-captioner")


def test_a_registered_captioner_is_picked_by_name(
    describer: Describer, fake_captioner: Callable[[], list[str]], tmp_path: Path
) -> None:
    result = describer.describe(encode(np.zeros((32, 32, 3), np.uint8)), captioner="test-captioner", name="x")
    assert result.captioner == "test-captioner"
    assert result.description.startswith("A hand-written caption about a teapot.")
    assert fake_captioner() == ["x"]


def test_a_describer_uses_the_registry_it_is_given() -> None:
    from tests.fakes import FAKE_USE, FAKES

    own = registry.DEFAULT.copy()  # the built-ins, plus the fakes below
    for cls in FAKES:
        own.register(cls.name)(cls)
    settings = DescribeSettings(captioner="fake-caption", use=FAKE_USE)
    blank = encode(np.zeros((8, 8, 3), np.uint8))
    described = Describer(settings, registry=own).describe(blank, name="x.png")
    assert described.captioner == "fake-caption"
    # the fakes were never registered on the shared registry
    with pytest.raises(UnknownNameError):
        Describer(settings)
    own.unregister("fake-caption")
    with pytest.raises(UnknownNameError) as raised:
        Describer(settings, registry=own)
    assert "fake-caption" in str(raised.value)


def test_the_shared_thread_pool_is_sized_once_from_the_settings() -> None:
    import cv2

    before = cv2.getNumThreads()
    try:
        settings = DescribeSettings(captioner="classic", threads=1, analyzers={"objects": {"threads": 3}})
        describer = Describer(settings)
        assert cv2.getNumThreads() == 1
        describer.analyzer("objects", "objects").load()  # its own option no longer resizes the process pool
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"objects": {"min_scor": 0.4}}, "unknown field `min_scor`"),
        ({"labels": {"top_k": "ten"}}, "Expected `int`, got `str` - at `$.top_k`"),
    ],
)
def test_a_typo_in_an_analyzers_options_is_an_error_naming_the_key(options: dict, says: str) -> None:  # type: ignore[type-arg]
    describer = Describer(DescribeSettings(captioner="classic", analyzers=options))
    name = next(iter(options))
    with pytest.raises(ConfigError) as caught:
        describer.analyzer(name, name)
    message = caught.value.message
    assert message.startswith(f"options of the {name} analyzer: ") and says in message
    assert "(valid: " in message and "threads)" in message and "\n" not in message
