"""Facts → the stored record of one image: the step the local indexer and the Ray
worker share, so both write the same point for the same bytes
(tests/test_indexer_ray.py holds them equal)."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from catalog.fingerprint import fingerprint
from catalog.points import stored_image
from catalog.store.base import StoredImage
from describe.describer import Describer
from describe.facts import Facts
from describe.intake import PreparedImage
from describe.render.profiles import Profile
from indexer.state import utc_now

# the short second text of every point (its `alt`), from this built-in profile
ALT_PROFILE = "alt"

try:
    DESCRIBER_VERSION = version("imgdesc")
except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
    DESCRIBER_VERSION = "0"

Analysis = tuple[Facts, dict[str, float]]


def image_record(
    describer: Describer,
    analysis: Analysis,
    image: PreparedImage,
    *,
    profile: Profile,
    alt_profile: Profile,
    sha256: str,
    paths: list[str],
    size_bytes: int,
    described_at: str,
    embedding_model: str,
    decode_ms: float,
) -> StoredImage:
    """The payload of one described image: the profile's paragraph and the alt text
    composed from the same facts, the detections' boxes, the original's size, the
    picture's perceptual hashes (near-duplicates, catalog/families/)."""
    facts, timings = analysis
    main = describer.compose(facts, profile, {**timings, "decode": decode_ms})
    alt = describer.compose(facts, alt_profile)
    return stored_image(
        main,
        sha256=sha256,
        paths=paths,
        alt=alt.description,
        boxes=facts.objects.objects if facts.objects else (),
        width=image.original_width,
        height=image.original_height,
        size_bytes=size_bytes,
        described_at=described_at,
        indexed_at=utc_now(),
        embedding_model=embedding_model,
        describer_version=DESCRIBER_VERSION,
        zero_shot=facts.zero_shot,
        fingerprint=fingerprint(image.image),
    )


def analyze_each(
    describer: Describer, images: Sequence[PreparedImage], profile: Profile
) -> list[Analysis | Exception]:
    """One batched analysis (a VLM captions the batch at once); when it fails, each
    image alone, so the bad one is found and the others are still described."""
    if not images:
        return []
    try:
        return list(describer.analyze_batch(images, profile))
    except Exception as exc:
        if len(images) == 1:
            return [exc]
    found: list[Analysis | Exception] = []
    for image in images:
        try:
            found.append(describer.analyze(image, profile))
        except Exception as exc:
            found.append(exc)
    return found


def describe_batch_size(describer: Describer, profile: Profile) -> int:
    """How many images to analyse in one call: the captioner's batch when it batches
    (the VLMs: 2 on a CPU, 8 on a GPU by default), else one at a time, so no decoded
    image waits in memory for the others."""
    for analyzer in describer.plan(profile):
        size = getattr(analyzer, "batch_size", None)
        if analyzer.produces == "caption" and isinstance(size, int):
            return max(1, size)
    return 1
