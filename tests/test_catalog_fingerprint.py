"""Perceptual hashes (catalog/fingerprint.py) and the near-duplicate rule over them
(catalog/families/rules.py), on real photos: the copies the issue names stay within the
thresholds, other photos (a mirrored cat included: same cat, other pixels) stay beyond;
and the hash index finds exactly what a comparison with every hash finds, looking at a
small share of them."""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from catalog.families.hashindex import BANDS, HashIndex
from catalog.families.rules import NEAR_COARSE, coarse_hashes, near_duplicates
from catalog.fingerprint import COARSE, FINE, dct_hash, distance, fingerprint
from catalog.points import stored_image
from catalog.store.base import StoredImage
from tests.fakes import make_description


def payload(image: Image.Image, name: str = "a.jpg") -> StoredImage:
    return stored_image(
        make_description("x"), sha256=name.ljust(64, "0"), paths=[name], fingerprint=fingerprint(image)
    )


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def resized(image: Image.Image, share: float) -> Image.Image:
    return image.resize((round(image.width * share), round(image.height * share)), Image.Resampling.LANCZOS)


def cropped(image: Image.Image, share: float, centred: bool) -> Image.Image:
    w, h = image.size
    dx, dy = round(w * share), round(h * share)
    box = (dx // 2, dy // 2, w - (dx - dx // 2), h - (dy - dy // 2)) if centred else (0, 0, w - dx, h - dy)
    return image.crop(box)


def brighter(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(factor)


COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    # the near copy: 70 % size, cropped 5 %, JPEG quality 60, 10 % brighter
    "issue's copy": lambda im: jpeg(brighter(cropped(resized(im, 0.7), 0.05, True), 1.1), 60),
    "issue's copy, cropped at one side": lambda im: jpeg(
        brighter(cropped(resized(im, 0.7), 0.05, False), 1.1), 60
    ),
    "half size": lambda im: resized(im, 0.5),
    "JPEG quality 30": lambda im: jpeg(im, 30),
    "20 % brighter": lambda im: brighter(im, 1.2),
    "5 % cut off one side": lambda im: cropped(im, 0.05, False),
}


@pytest.fixture(scope="module")
def pictures(photos: dict[str, np.ndarray]) -> dict[str, Image.Image]:
    return {name: Image.fromarray(array).convert("RGB") for name, array in photos.items()}


def test_the_dct_hash_is_the_phash_imagehash_computes(pictures: dict[str, Image.Image]) -> None:
    """imagehash.phash: grey, LANCZOS to 4n × 4n, scipy's DCT-II on both axes, the n × n
    lowest frequencies against their median. Written out here with scipy as the reference."""
    fftpack = pytest.importorskip("scipy.fftpack")
    for image in pictures.values():
        for n in (COARSE, FINE):
            grey = image.convert("L").resize((4 * n, 4 * n), Image.Resampling.LANCZOS)
            dct = fftpack.dct(fftpack.dct(np.asarray(grey, dtype=np.float64), axis=0), axis=1)[:n, :n]
            bits = (dct > np.median(dct)).ravel()
            assert dct_hash(image, n) == np.packbits(bits).tobytes().hex()


@pytest.mark.parametrize("copy", list(COPIES))
def test_near_copies_of_real_photos_are_near_duplicates(pictures: dict[str, Image.Image], copy: str) -> None:
    for name, image in pictures.items():
        assert near_duplicates(payload(image), payload(COPIES[copy](image))), name


def test_other_photos_are_not_near_duplicates(pictures: dict[str, Image.Image]) -> None:
    """Every pair of different photos, and the cat beside its mirror image (the same cat in
    other pixels, as a second photo of it would be) also after the issue's changes."""
    found = {name: payload(image, name) for name, image in pictures.items()}
    for (a, pa), (b, pb) in itertools.combinations(found.items(), 2):
        assert not near_duplicates(pa, pb), (a, b)
    cat = pictures["chelsea"]
    mirrored = cat.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert not near_duplicates(found["chelsea"], payload(mirrored))
    assert not near_duplicates(found["chelsea"], payload(COPIES["issue's copy"](mirrored)))


def test_a_fingerprint_holds_the_whole_picture_and_five_windows(pictures: dict[str, Image.Image]) -> None:
    found = fingerprint(pictures["coffee"])
    assert len(found.phash) == len(found.fine) == 6
    assert {len(h) for h in found.phash} == {16} and {len(h) for h in found.fine} == {64}
    assert distance("ff", "0f") == 4 and distance(0b1011, 0b0001) == 2


def test_the_copies_lie_within_the_threshold_with_room(pictures: dict[str, Image.Image]) -> None:
    """The whole pictures' coarse hashes of a resize or a recompression lie far inside the
    threshold (a crop needs the windows)."""
    for image in pictures.values():
        for copy in ("half size", "JPEG quality 30"):
            a, b = coarse_hashes(payload(image)), coarse_hashes(payload(COPIES[copy](image)))
            assert distance(a[0], b[0]) <= NEAR_COARSE // 2


# --- the hash index ------------------------------------------------------------------------


def _near_copy(rng: random.Random, value: int, bits: int) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


def test_the_index_finds_what_comparing_with_every_hash_finds() -> None:
    rng = random.Random(7)
    stored = {owner: [rng.getrandbits(64) for _ in range(3)] for owner in range(3000)}
    index = HashIndex()
    index.add_many(list(stored.items())[:2000])
    for owner, hashes in list(stored.items())[2000:]:
        index.add(owner, hashes)  # past the pending limit: merged on the way
    for owner in range(0, 3000, 7):
        index.remove(owner)
        del stored[owner]
    index.add(1, [stored[2][0]])  # replaced: owner 1 now holds one hash
    stored[1] = [stored[2][0]]
    for _ in range(200):
        base = rng.choice(list(stored.values()))[0]
        query = _near_copy(rng, base, rng.randrange(0, 14))
        expected = sorted(
            (o, tag, (query ^ h).bit_count())
            for o, hashes in stored.items()
            for tag, h in enumerate(hashes)
            if (query ^ h).bit_count() <= NEAR_COARSE
        )
        assert index.near(query, NEAR_COARSE) == expected
    assert len(index) == sum(len(h) for h in stored.values())


def test_a_query_compares_a_small_share_of_the_index_whatever_its_size() -> None:
    """The scaling shape, not wall time: with 4 bands of 16 bits, a query within 10 bits
    compares about BANDS × 137 / 65,536 ≈ 0.8 % of uniformly spread hashes, at 20,000 as at
    80,000 (tools/families_bench.py times it at 100,000 images)."""
    rng = np.random.default_rng(3)
    shares = []
    for size in (20_000, 80_000):
        index = HashIndex()
        values = rng.integers(0, 2**63, size=size, dtype=np.int64).tolist()
        index.add_many(enumerate([[v] for v in values]))
        compared = []
        for value in values[:50]:
            index.near(value, NEAR_COARSE)
            compared.append(index.last_compared)
        shares.append(float(np.mean(compared)) / size)
    assert all(share < 0.02 for share in shares), shares
    assert BANDS == 4
    assert abs(shares[0] - shares[1]) < 0.005, shares
