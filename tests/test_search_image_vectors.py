"""The optional IMAGE vector (SigLIP 2 image embeddings) in both store adapters, the
points that carry it, its fusion into search, and re-embedding images without
describing them again — with fakes for speed, and once end to end with a tiny
random-weight SigLIP 2 checkpoint loaded through the production loader."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalog.points import PointEncoder, image_vector, stored_image
from catalog.store.base import DENSE, IMAGE, Store, point_id
from catalog.store.edge import EdgeStore
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.facts import ZeroShotFacts
from describe.intake import IntakeLimits, PreparedImage, load_image
from indexer.image_vectors import reembed_images, stale
from search.fusion import Weights, match_probability
from search.service import SearchService
from tests import vlm_tiny
from tests.fakes import FAKE_USE, HashEmbedder, fake_analyzers, make_description

IMAGE_DIM = 4
Opener = Callable[[int | None], Store]


def axis(i: int, dim: int = IMAGE_DIM) -> list[float]:
    return [1.0 if j == i else 0.0 for j in range(dim)]


@pytest.fixture(params=["edge", "server-local"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens (and reopens) one store of the adapter with a given image size."""
    from qdrant_client import QdrantClient

    from catalog.store.server import ServerStore

    opened: list[Store] = []

    def open_store(image_size: int | None) -> Store:
        for store in opened:
            store.close()
        opened.clear()
        if request.param == "edge":
            store: Store = EdgeStore.open(tmp_path / "shard", 16, image_size=image_size)
        else:
            client = QdrantClient(path=str(tmp_path / "local"))
            store = ServerStore.from_client(client, "images", 16, image_size=image_size)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def add(store: Store, encoder: PointEncoder, name: str, caption: str, image: list[float] | None) -> str:
    sha = name.encode().hex().ljust(64, "0")
    zero_shot = ZeroShotFacts(model="test/siglip", embedding=tuple(image)) if image else None
    payload = stored_image(
        make_description(caption, tags=[name]), sha256=sha, paths=[name], zero_shot=zero_shot
    )
    store.upsert([encoder.point(point_id(sha), payload, image=image_vector(zero_shot))])
    return point_id(sha)


def test_points_with_an_image_vector_are_found_by_it_and_the_others_are_not(opener: Opener) -> None:
    store = opener(IMAGE_DIM)
    encoder = PointEncoder(HashEmbedder())
    cat = add(store, encoder, "cat.jpg", "a cat", axis(0))
    dog = add(store, encoder, "dog.jpg", "a dog", axis(1))
    old = add(store, encoder, "old.jpg", "an old point", None)
    hits = store.nearest(IMAGE, [0.9, 0.1, 0.0, 0.0])
    assert [pid for pid, _ in hits] == [cat, dog]  # old has no image vector
    assert hits[0][1] == pytest.approx(0.9 / math.hypot(0.9, 0.1), abs=1e-4)  # cosine
    assert {pid for pid, _ in store.nearest(DENSE, HashEmbedder().embed_one("a point"))} == {cat, dog, old}
    assert store.get(cat).image_model == "test/siglip" and store.get(old).image_model == ""
    assert set(store.image_vectors([cat, dog, old])) == {cat, dog}


def test_set_image_vectors_replaces_only_the_image_vector(opener: Opener) -> None:
    store = opener(IMAGE_DIM)
    encoder = PointEncoder(HashEmbedder())
    cat = add(store, encoder, "cat.jpg", "a cat", axis(0))
    old = add(store, encoder, "old.jpg", "an old point", None)
    store.set_image_vectors([(old, axis(2)), (cat, axis(3))], "other/siglip")
    assert store.nearest(IMAGE, axis(2))[0][0] == old
    assert store.nearest(IMAGE, axis(3))[0][0] == cat
    payload = store.get(cat)
    assert payload is not None and payload.image_model == "other/siglip" and payload.tags == ["cat.jpg"]
    assert cat in {pid for pid, _ in store.nearest(DENSE, HashEmbedder().embed_one("a cat"))}


def test_a_store_without_the_image_vector_gets_it_and_a_new_size_empties_it(opener: Opener) -> None:
    encoder = PointEncoder(HashEmbedder())
    store = opener(None)  # a store from before the tagger was enabled
    old = add(store, encoder, "old.jpg", "an old point", None)
    store = opener(IMAGE_DIM)  # enabled: added, nothing rebuilt
    assert store.get(old) is not None and store.nearest(IMAGE, axis(0)) == []
    store.set_image_vectors([(old, axis(0))], "test/siglip")
    store = opener(IMAGE_DIM)  # same model: kept
    assert [pid for pid, _ in store.nearest(IMAGE, axis(0))] == [old]
    store = opener(IMAGE_DIM + 2)  # another model's size: the vectors go, the point stays
    assert store.nearest(IMAGE, axis(0, IMAGE_DIM + 2)) == [] and store.get(old) is not None
    store = opener(None)  # tagger off again: the vector stays declared, search ignores it
    assert store.get(old) is not None


def test_text_re_embedding_keeps_image_vectors_only_when_given() -> None:
    encoder = PointEncoder(HashEmbedder())
    zero_shot = ZeroShotFacts(model="m", embedding=(1.0, 0.0))
    payload = stored_image(make_description("a cat"), sha256="a" * 64, paths=["a.jpg"], zero_shot=zero_shot)
    kept, lost = encoder.points([("p", payload)], {"p": [1.0, 0.0]})[0], encoder.points([("p", payload)])[0]
    assert kept.image == [1.0, 0.0] and kept.payload.image_model == "m"
    # a point written without its vector must not claim one: image_vectors.py refills it
    assert lost.image is None and lost.payload.image_model == ""


# --- search --------------------------------------------------------------------------------------


class FakeQueryEncoder:
    """An image-text model's text side: 'cat' points along axis 0, 'dog' along axis 1."""

    scale, bias = 10.0, -5.0

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer

    def embed_query(self, text: str) -> list[float] | None:
        if not self.answer:
            return None
        return axis(0) if "cat" in text else axis(1)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[tuple[Store, dict[str, str]]]:
    store = EdgeStore.open(tmp_path / "store", 64, image_size=IMAGE_DIM)
    encoder = PointEncoder(HashEmbedder(dim=64))
    ids = {
        # the descriptions say nothing about cats; only the pixels (the image vector) do
        "tabby.jpg": add(store, encoder, "tabby.jpg", "a striped animal on a rug", axis(0)),
        "puppy.jpg": add(store, encoder, "puppy.jpg", "a small animal on grass", axis(1)),
        "legacy.jpg": add(store, encoder, "legacy.jpg", "an animal", None),
    }
    yield store, ids
    store.close()


def test_the_image_view_lifts_what_only_the_pixels_show(catalog: tuple[Store, dict[str, str]]) -> None:
    store, _ = catalog
    embedder = HashEmbedder(dim=64)
    with_images = SearchService(store, embedder, image_query=FakeQueryEncoder())
    assert with_images.search("cat")[0].filename == "tabby.jpg"
    assert with_images.search("dog")[0].filename == "puppy.jpg"
    # points without an image vector still come back, ranked by the other views
    assert {h.filename for h in with_images.search("animal")} == {"tabby.jpg", "puppy.jpg", "legacy.jpg"}


def test_the_image_view_adds_its_weighted_match_probability(catalog: tuple[Store, dict[str, str]]) -> None:
    store, ids = catalog
    embedder = HashEmbedder(dim=64)
    plain = dict(SearchService(store, embedder).rank("cat", [], 10))
    fused = dict(
        SearchService(store, embedder, Weights(image=0.5), image_query=FakeQueryEncoder()).rank("cat", [], 10)
    )
    lift = 0.5 * match_probability(1.0, 10.0, -5.0)  # cosine 1 with the tabby
    assert fused[ids["tabby.jpg"]] - plain.get(ids["tabby.jpg"], 0.0) == pytest.approx(lift, abs=1e-4)
    # the image view returned every point that has a vector (complete), so legacy scores 0 there
    assert fused[ids["legacy.jpg"]] == pytest.approx(plain[ids["legacy.jpg"]], abs=1e-6)


@pytest.mark.parametrize("service_args", [{"weights": Weights(image=0.0)}, {}])
def test_without_weight_or_model_the_image_view_is_left_out(
    catalog: tuple[Store, dict[str, str]], service_args: dict[str, object]
) -> None:
    store, _ = catalog
    embedder = HashEmbedder(dim=64)
    plain = SearchService(store, embedder).rank("cat", [], 10)
    encoder = FakeQueryEncoder(answer=bool(service_args))  # {}: a model without weights answers None
    other = SearchService(store, embedder, image_query=encoder, **service_args).rank("cat", [], 10)
    assert other == plain


# --- re-embedding images ---------------------------------------------------------------------------


class FakeImageEncoder:
    available = True

    def __init__(self, source: str) -> None:
        self.source = source
        self.seen: list[str] = []

    def load(self) -> None:
        pass

    def embed_images(self, images: list[PreparedImage]) -> np.ndarray:
        self.seen += [image.source for image in images]
        return np.array([axis(2) for _ in images])


def test_reembed_images_fills_missing_and_other_model_vectors_from_the_files(
    catalog: tuple[Store, dict[str, str]], tmp_path: Path
) -> None:
    store, ids = catalog
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("tabby.jpg", "legacy.jpg"):  # puppy.jpg is gone from the folder
        Image.new("RGB", (20, 10), "red").save(root / name)
    encoder = FakeImageEncoder("new/siglip")
    assert len(stale(store, "new/siglip")) == 3
    assert reembed_images(store, root, encoder, IntakeLimits()) == 2
    assert sorted(encoder.seen) == ["legacy.jpg", "tabby.jpg"]
    assert {pid for pid, _ in store.nearest(IMAGE, axis(2))} >= {ids["tabby.jpg"], ids["legacy.jpg"]}
    assert [p.filename for _, p in stale(store, "new/siglip")] == ["puppy.jpg"]
    assert reembed_images(store, root, encoder, IntakeLimits()) == 0  # the rest: nothing to read


@pytest.mark.slow
def test_end_to_end_with_a_tiny_siglip2(tmp_path: Path) -> None:
    """Describe with the tagger, store the point with its image vector, search with the
    same model's text tower, then back-fill a point described without it."""
    folder = vlm_tiny.build_siglip2(tmp_path / "siglip2")
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(root / name)
    settings = DescribeSettings(
        captioner="classic",
        use={**FAKE_USE, "zero_shot": "siglip2"},
        analyzers={"siglip2": {"model": str(folder)}},
    )
    with fake_analyzers():
        describer = Describer(settings)
        describer.load()
        tagger = describer.analyzer("siglip2", "zero_shot")
        embedder = HashEmbedder(dim=64)
        store = EdgeStore.open(tmp_path / "store", embedder.dim, image_size=tagger.dim)
        encoder = PointEncoder(embedder)
        image = load_image(root / "a.png", IntakeLimits(), name="a.png")
        facts, _ = describer.analyze(image, describer.profiles.get("default"))
        main = describer.compose(facts, "default")
        sha = "a" * 64
        payload = stored_image(main, sha256=sha, paths=["a.png"], zero_shot=facts.zero_shot)
        store.upsert([encoder.point(point_id(sha), payload, image=image_vector(facts.zero_shot))])
        # b.png was indexed before the tagger was enabled
        old = stored_image(make_description("an old one"), sha256="b" * 64, paths=["b.png"])
        store.upsert([encoder.point(point_id("b" * 64), old)])
        try:
            assert store.get(point_id(sha)).image_model == str(folder)
            assert [pid for pid, _ in store.nearest(IMAGE, list(facts.zero_shot.embedding))] == [
                point_id(sha)
            ]
            assert reembed_images(store, root, tagger, IntakeLimits()) == 1
            assert len(store.image_vectors([point_id("b" * 64)])[point_id("b" * 64)]) == tagger.dim
            search = SearchService(store, embedder, image_query=tagger)
            assert {h.path for h in search.search("a photo")} == {"a.png", "b.png"}
            rank = dict(search.rank("a photo", [], 10))
            assert all(score > 0 for score in rank.values())
        finally:
            store.close()
