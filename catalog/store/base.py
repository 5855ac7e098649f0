"""The store interface every Qdrant adapter implements, and the records it holds.

A point is one distinct image content (sha256); its payload lists every path
where those bytes live. Named vectors, each searched on its own (`nearest`) and
fused by the caller: "dense" (sentence embedding of the description, cosine),
"focus" (sentence embedding of the confident facts, cosine), "labels" (a label
distribution in the same space, dot product, so its length counts) and "sparse"
(lexical term weights; Qdrant applies IDF, which makes it BM25-like). Optional:
"image", the image embedding of an image-text model (SigLIP 2, cosine), declared when
the store is opened with an `image_size` and held only by points described with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Protocol

import msgspec

from describe.errors import ImgdescError
from describe.facts import (
    Colour,
    CompositionFacts,
    CreativeFacts,
    DetectedObject,
    Label,
    ObjectCount,
    PromptCheck,
    Provenance,
    Tag,
)

DENSE = "dense"
FOCUS = "focus"
LABELS = "labels"
SPARSE = "sparse"
# every named vector a store of this version holds; one missing means an older store
VECTORS = (DENSE, FOCUS, LABELS, SPARSE)
# the optional image vector: added to a store that lacks it (no rebuild), and replaced
# empty when the image model's size changes (its points are re-embedded from the files)
IMAGE = "image"
# Ordered by (newest first) when browsing without a query: needs a datetime index.
ORDER_FIELD = "indexed_at"

_NAMESPACE = uuid.UUID("6f1c3c1e-8b0e-4a55-9d1a-2b8c5f0e7a11")


def point_id(sha256: str) -> str:
    """Qdrant ids are UUIDs or integers; derive a stable UUID from the content hash,
    so re-indexing the same bytes always hits the same point (no duplicates)."""
    return str(uuid.uuid5(_NAMESPACE, sha256))


class StoreInUseError(ImgdescError):
    """The embedded shard is held by another process (e.g. a running server)."""

    status_code = 409


class DimensionMismatchError(ImgdescError):
    """The store holds dense vectors of another size than the embedding model gives:
    the model changed, so everything must be re-embedded (open with recreate=True)."""

    status_code = 409

    def __init__(self, where: str, stored: int, wanted: int) -> None:
        super().__init__(
            f"{where} holds {stored}-d vectors but the embedding model gives {wanted}-d; "
            "the model changed, so the index must be rebuilt (re-embed everything)",
            {"stored": stored, "wanted": wanted},
        )
        self.stored = stored
        self.wanted = wanted


class SchemaChangedError(ImgdescError):
    """The store lacks named vectors this version needs: it was created by an older
    imgdesc, so everything must be described again (open with recreate=True)."""

    status_code = 409

    def __init__(self, where: str, missing: Sequence[str]) -> None:
        names = ", ".join(repr(name) for name in missing)
        super().__init__(
            f"{where} has no {names} vectors: it was created by an older imgdesc, "
            "so the index must be rebuilt (describe everything again)",
            {"missing": list(missing)},
        )
        self.missing = list(missing)


class Edit(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What people changed about one image content (catalog/edits.py keeps these by
    sha256, apart from the store, so a rebuilt store or journal gets them back).
    `description` None: the machine's text stands. Tags are added and removed on top
    of the machine's, so a re-description keeps the person's changes."""

    description: str | None = None
    add_tags: list[str] = []
    remove_tags: list[str] = []
    edited_by: str | None = None  # the account, once accounts exist; None before
    edited_at: str = ""  # ISO 8601, UTC
    # the sha256 of the content these edits were made on, when a file at the same path
    # was replaced by new bytes and the edits carried over ("" when made on this content)
    carried_from: str = ""


class Fingerprint(msgspec.Struct, frozen=True):
    """Perceptual hashes of the picture (catalog/fingerprint.py), hex: the whole picture
    first, then four corner windows of 95 % of it. Near copies are found by these
    (catalog/families/)."""

    phash: list[str]  # 64-bit DCT hashes: what the hash index searches
    fine: list[str]  # 256-bit DCT hashes of the same windows: what confirms a match


class StoredImage(msgspec.Struct, kw_only=True):
    sha256: str
    paths: list[str]  # relative to the watched folder, POSIX separators
    filename: str  # of the first path
    description: str  # effective: the person's text when they set one, else the machine's
    alt: str = ""
    caption: str = ""  # what the captioner said; embedded instead of the whole paragraph
    tags: list[str] = []  # effective: the machine's, minus removed, plus added (and the file's own)
    # each effective tag with where it came from (objects, labels, …, file, user) and score
    tag_details: list[Tag] = []
    colors: list[Colour] = []
    objects: list[ObjectCount] = []
    boxes: list[DetectedObject] = []  # each detection, box normalised to [0, 1]; the image page draws them
    labels: list[Label] = []
    text: str = ""
    composition: CompositionFacts | None = None
    captioner: str = ""
    profile: str = ""
    width: int = 0
    height: int = 0
    size_bytes: int = 0
    timings_ms: dict[str, float] = {}
    described_at: str = ""  # ISO 8601, UTC
    indexed_at: str = ""
    embedding_model: str = ""
    # the image-text model whose image embedding the point holds ("" when it holds none)
    image_model: str = ""
    describer_version: str = ""
    # the generation prompt checked against the picture, and where the file says it came
    # from; searchable through the sparse view only (catalog/points.py)
    prompt_check: PromptCheck | None = None
    provenance: Provenance | None = None
    # an ad, a post, a poster … read as one: its kind, format and the parts of its text
    creative: CreativeFacts | None = None
    # what the machine said, kept beside the effective fields when a person edited them
    # (equal to description / tags until then), so nothing the models said is lost
    machine_description: str = ""
    machine_tags: list[str] = []
    edit: Edit | None = None
    # None for a point written before hashes were kept: indexer/fingerprints.py adds them
    fingerprint: Fingerprint | None = None


def decode_payload(payload: dict[str, object] | None) -> StoredImage:
    """A point's payload as both adapters read it back."""
    return msgspec.convert(payload or {}, StoredImage)


class SparseVector(msgspec.Struct, frozen=True):
    indices: list[int]
    values: list[float]


class ImagePoint(msgspec.Struct):
    id: str
    dense: list[float]
    sparse: SparseVector
    payload: StoredImage
    # None: the point has no such vector, and the nearest() of that view never finds it
    focus: list[float] | None = None
    labels: list[float] | None = None
    image: list[float] | None = None


class Hit(msgspec.Struct):
    id: str
    score: float
    payload: StoredImage


class Store(Protocol):
    """What the indexer and search need from Qdrant; both adapters pass one test suite."""

    def upsert(self, points: Sequence[ImagePoint]) -> None: ...

    def set_paths(self, id: str, paths: list[str]) -> None:
        """Replace a point's paths (and filename, from the first path) without touching vectors."""
        ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def get(self, id: str) -> StoredImage | None: ...

    def nearest(
        self,
        using: str,
        vector: list[float] | SparseVector,
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        """Ids and raw scores of the `limit` points nearest to `vector` by the named
        vector `using`, best first: cosine for DENSE and FOCUS, dot product for LABELS,
        IDF-weighted dot product for SPARSE (which takes a SparseVector; no terms, no
        hits). Points without that vector are never found. Every tag in `tags` must be
        on a hit, and none in `not_tags` (a query's exclusions, filtered by Qdrant before
        the limit, so they cost no candidates). No score threshold: the caller calibrates and cuts."""
        ...

    def nearest_views(
        self,
        queries: Sequence[tuple[str, list[float] | SparseVector]],
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[list[tuple[str, float]]]:
        """`nearest` for several (using, vector) pairs with the same filter and limit, in
        one request to the store; the results in the order of `queries`. Search asks all
        its views at once this way (at 100k points: p95 15 ms against 21 ms asked apart)."""
        ...

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredImage]:
        """The payloads of `ids` that are stored; unknown ids are left out."""
        ...

    def image_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The IMAGE vectors of `ids` that have one (a text re-embedding keeps them)."""
        ...

    def vectors(self, id: str) -> dict[str, list[float] | SparseVector]:
        """Every named vector one point holds, by name (empty for an unknown id): what
        more-like-this searches with (search/similar.py), and what a payload-only rewrite
        puts back (indexer/fingerprints.py). Cosine vectors come back as stored, unit length."""
        ...

    def set_image_vectors(self, vectors: Sequence[tuple[str, list[float]]], model: str) -> None:
        """Replace only the IMAGE vector of each point, and record `model` as its image_model;
        the other vectors and the payload stay (re-embedding images without describing)."""
        ...

    def facets(
        self, tags: Sequence[str] = (), limit: int = 50, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, int]]:
        """Tag counts (most common first) over the points carrying all of `tags` and none of `not_tags`."""
        ...

    def count(self, tags: Sequence[str] = (), *, not_tags: Sequence[str] = ()) -> int: ...

    def latest(
        self, tags: Sequence[str] = (), limit: int = 20, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, StoredImage]]:
        """The most recently indexed points carrying every tag in `tags` and none in
        `not_tags`, newest first; ordered and filtered by Qdrant, so it costs `limit`
        points, not the collection."""
        ...

    def scroll(self, batch: int = 256, tags: Sequence[str] = ()) -> Iterator[tuple[str, StoredImage]]:
        """Every point carrying each of `tags` (filtered by Qdrant), `batch` at a time."""
        ...

    def optimize(self) -> bool:
        """Build the search index after a bulk load; True when something changed. A store
        that optimises by itself (a Qdrant server) does nothing and returns False."""
        ...

    def close(self) -> None: ...
