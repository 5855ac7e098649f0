"""The families (catalog/families/groups.py): near-duplicate and variant groups worked out
one image at a time, kept across restarts, and people's decisions (reviewed, hidden)
kept by content."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from msgspec.structs import replace
from PIL import Image

from catalog.families import groups as groups_module
from catalog.families.groups import Families
from catalog.families.listing import duplicate_groups, keeper
from catalog.families.rules import NEAR, VARIANT
from catalog.fingerprint import fingerprint
from catalog.points import stored_image
from catalog.store.base import ImagePoint, SparseVector, StoredImage, point_id
from describe.facts import CompositionFacts, PromptCheck, Provenance
from tests.fakes import FakeStore, make_description
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def pictures(photos: dict[str, np.ndarray]) -> dict[str, Image.Image]:
    return {name: Image.fromarray(array).convert("RGB") for name, array in photos.items()}


def put(
    store: FakeStore,
    name: str,
    image: Image.Image | None,
    *,
    prompt: str = "",
    seed: str = "",
    labels: list[float] | None = None,
    size: tuple[int, int] = (640, 480),
) -> str:
    sha = name.encode().hex().ljust(64, "0")[:64]
    provenance = Provenance(prompt=prompt, seed=seed, source="file:a1111") if prompt else None
    main = make_description(f"a picture called {name}")
    payload = stored_image(
        main,
        sha256=sha,
        paths=[name],
        fingerprint=fingerprint(image) if image else None,
        width=size[0],
        height=size[1],
    )
    if provenance is not None:
        payload = replace(payload, provenance=provenance, prompt_check=PromptCheck(prompt, "file:a1111"))
    pid = point_id(sha)
    store.upsert(
        [ImagePoint(id=pid, dense=[1.0, 0.0], sparse=SparseVector([], []), payload=payload, labels=labels)]
    )
    return pid


def half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2))


def test_images_are_placed_as_they_come_and_leave(tmp_path: Path, pictures: dict[str, Image.Image]) -> None:
    store = FakeStore()
    families = Families(store, tmp_path)
    assert families.sync() == 0 and families.groups() == []
    cat = put(store, "cat.jpg", pictures["chelsea"])
    coffee = put(store, "coffee.jpg", pictures["coffee"])
    for pid in (cat, coffee):
        families.place(pid, store.get(pid))  # type: ignore[arg-type]
    assert families.groups() == []
    copy = put(store, "cat-small.jpg", half(pictures["chelsea"]))
    families.place(copy, store.get(copy))  # type: ignore[arg-type]
    [group] = families.groups()
    assert group.kind == NEAR and group.ids == sorted([cat, copy]) and not group.reviewed
    assert families.family(cat) == sorted([cat, copy]) and families.family(coffee) == [coffee]
    assert families.near_ids(cat) == [copy]
    families.remove(copy)
    assert families.groups() == [] and families.family(cat) == [cat]
    families.close()


def test_links_are_kept_so_a_restart_places_only_what_is_new(
    tmp_path: Path, pictures: dict[str, Image.Image], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FakeStore()
    ids = [put(store, "a.jpg", pictures["astronaut"]), put(store, "b.jpg", half(pictures["astronaut"]))]
    first = Families(store, tmp_path)
    assert first.sync() == 2
    before = first.groups()
    first.close()
    rocket = put(store, "c.jpg", pictures["rocket"])  # written while nothing watched
    store.delete([ids[1]])  # and one deleted
    again = Families(store, tmp_path)
    assert again.sync() == 1  # only the new one
    assert before[0].ids == sorted(ids) and again.groups() == []
    assert again.family(rocket) == [rocket]
    again.close()
    monkeypatch.setattr(groups_module, "RULES_VERSION", "another")  # a changed rule: all again
    third = Families(store, tmp_path)
    assert third.sync() == 2
    third.close()


def test_same_prompt_other_seeds_and_alike_are_variants(tmp_path: Path) -> None:
    store = FakeStore()
    near, far = [1.0, 0.1, 0.0], [0.0, 0.2, 1.0]
    prompt = "a red sports car on a mountain road, golden hour"
    a = put(store, "a.png", None, prompt=prompt, seed="11", labels=near)
    b = put(store, "b.png", None, prompt=prompt.upper() + "  ", seed="12", labels=[0.9, 0.2, 0.05])
    put(store, "unlike.png", None, prompt=prompt, seed="13", labels=far)  # the prompt, but unalike
    put(store, "other.png", None, prompt="a blue boat", seed="14", labels=near)
    put(store, "no-seed.png", None, prompt=prompt, labels=near)  # a caption travelling without a seed
    families = Families(store, tmp_path)
    families.sync()
    [group] = families.groups()
    assert group.kind == VARIANT and group.ids == sorted([a, b])
    [listed] = duplicate_groups(families, store)
    assert listed.prompt == prompt and {i.id for i in listed.images} == {a, b}
    families.close()
    # one seed twice is one generation saved again (a near-duplicate if it looks the same)
    alone = FakeStore()
    put(alone, "a.png", None, prompt=prompt, seed="11", labels=near)
    put(alone, "again.png", None, prompt=prompt, seed="11", labels=near)
    other = Families(alone, tmp_path / "other")
    other.sync()
    assert other.groups() == []
    other.close()


def test_decisions_are_kept_by_content_and_a_new_copy_reopens_a_review(
    tmp_path: Path, pictures: dict[str, Image.Image]
) -> None:
    store = FakeStore()
    a, b = put(store, "a.jpg", pictures["china"]), put(store, "b.jpg", half(pictures["china"]))
    families = Families(store, tmp_path)
    families.sync()
    records = store.get_many([a, b])
    families.set_reviewed(records, NEAR, True)
    families.set_hidden({b: records[b]}, True)
    assert families.groups()[0].reviewed and families.hidden_ids() == {b}
    families.close()
    again = Families(store, tmp_path)
    again.sync()
    assert again.groups()[0].reviewed and again.hidden_ids() == {b}
    c = put(store, "c.jpg", half(half(pictures["china"])))
    again.place(c, store.get(c))  # type: ignore[arg-type]
    [group] = again.groups()
    assert group.ids == sorted([a, b, c]) and not group.reviewed
    assert duplicate_groups(again, store, reviewed=True) == []
    again.set_hidden({b: records[b]}, False)
    assert again.hidden_ids() == frozenset()
    again.close()


def test_the_keeper_is_the_largest_then_the_sharpest(tmp_path: Path) -> None:
    def record(width: int, sharpness: float, size: int) -> StoredImage:
        composition = CompositionFacts("landscape", 1.5, 0.5, 0.2, 0.5, sharpness, False, "balanced")
        base = stored_image(make_description("x"), sha256="0" * 64, paths=["x.jpg"], width=width, height=100)
        return replace(base, composition=composition, size_bytes=size)

    assert keeper({"small": record(100, 900.0, 10), "large": record(200, 10.0, 5)}) == "large"
    assert keeper({"soft": record(200, 10.0, 50), "sharp": record(200, 300.0, 5)}) == "sharp"


def test_a_first_grouping_in_the_background_never_makes_a_reader_wait(
    tmp_path: Path, pictures: dict[str, Image.Image]
) -> None:
    """A server watching no folder groups its catalog in the background; meanwhile search
    (collapse) and the pages ask for families and get "none yet" at once."""
    store = FakeStore()
    cat, copy = put(store, "cat.jpg", pictures["chelsea"]), put(store, "small.jpg", half(pictures["chelsea"]))
    reading, release = threading.Event(), threading.Event()
    scroll = store.scroll

    def slow_scroll(batch: int = 256) -> Iterator[tuple[str, StoredImage]]:
        reading.set()
        release.wait(30)
        yield from scroll(batch)

    store.scroll = slow_scroll  # type: ignore[method-assign]
    families = Families(store, tmp_path)
    families.sync_in_background()
    assert reading.wait(30)
    answered = ThreadPoolExecutor(1).submit(
        lambda: (families.groups(), families.family(cat), families.near_ids(cat))
    )
    assert answered.result(timeout=5) == ([], [cat], [])  # while the pass over the store waits
    assert not families.synced
    release.set()
    wait_for(lambda: families.synced)
    assert families.family(cat) == sorted([cat, copy])
    families.close()
