"""The server store: a collection on a Qdrant server, through qdrant-client.

qdrant-client's local mode (QdrantClient(":memory:") or path=...) implements the
calls used here (named vectors a point may lack, dot and cosine, the IDF modifier,
facets) in Python, which is how the tests run this adapter without a server.
Local mode ignores payload indexes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath

import msgspec
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

import catalog.store.tuning as tuning
from catalog.store.base import (
    DENSE,
    FOCUS,
    IMAGE,
    LABELS,
    ORDER_FIELD,
    SPARSE,
    VECTORS,
    DimensionMismatchError,
    ImagePoint,
    SchemaChangedError,
    SparseVector,
    StoredImage,
    decode_payload,
)

UPSERT_BATCH = 256  # points per request: keeps each request far below the server's size limit


class CollectionLayout(msgspec.Struct, frozen=True, kw_only=True):
    """How a new collection is spread over a cluster; None leaves it to the server
    (one shard per node at creation, one copy). Applied only when the collection is
    created: Qdrant cannot re-shard an existing one."""

    shards: int | None = None
    replicas: int | None = None  # copies of each shard; 2 survives the loss of a node


class ServerStore:
    def __init__(self, client: QdrantClient, collection: str) -> None:
        self._client = client
        self.collection = collection

    @classmethod
    def connect(
        cls,
        url: str,
        dense_size: int,
        api_key: str | None = None,
        collection: str = "images",
        recreate: bool = False,
        layout: CollectionLayout | None = None,
        image_size: int | None = None,
    ) -> ServerStore:
        client = QdrantClient(url=url, api_key=api_key)
        return cls.from_client(client, collection, dense_size, recreate, layout, image_size)

    @classmethod
    def from_client(
        cls,
        client: QdrantClient,
        collection: str,
        dense_size: int,
        recreate: bool = False,
        layout: CollectionLayout | None = None,
        image_size: int | None = None,
    ) -> ServerStore:
        """Use `client` (the store closes it, and so does a failed open: local mode
        holds its folder's lock until then); create the collection if missing, laid
        out as `layout` says (the server's defaults when None). `image_size`: declare
        the IMAGE vector at that size (added when missing, replaced empty at another size)."""
        try:
            _prepare_collection(client, collection, dense_size, recreate, layout or CollectionLayout())
            _ensure_image_vector(client, collection, image_size)
        except BaseException:
            client.close()
            raise
        return cls(client, collection)

    # -- writes: wait=True, so a returned call is applied (and in the server's WAL)

    def upsert(self, points: Sequence[ImagePoint]) -> None:
        for start in range(0, len(points), UPSERT_BATCH):
            batch = [_to_point(p) for p in points[start : start + UPSERT_BATCH]]
            self._client.upsert(self.collection, batch, wait=True)

    def set_paths(self, id: str, paths: list[str]) -> None:
        payload: dict[str, object] = {"paths": paths}
        if paths:
            payload["filename"] = PurePosixPath(paths[0]).name
        try:
            self._client.set_payload(self.collection, payload, points=[id], wait=True)
        except UnexpectedResponse as error:  # the server answers 404; local mode raises KeyError
            if error.status_code == 404:
                raise KeyError(id) from None
            raise

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._client.delete(self.collection, models.PointIdsList(points=list(ids)), wait=True)

    # -- reads

    def get(self, id: str) -> StoredImage | None:
        records = self._client.retrieve(self.collection, [id], with_payload=True, with_vectors=False)
        return decode_payload(records[0].payload) if records else None

    def nearest(
        self,
        using: str,
        vector: list[float] | SparseVector,
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        [found] = self.nearest_views([(using, vector)], tags, limit, not_tags=not_tags)
        return found

    def nearest_views(
        self,
        queries: Sequence[tuple[str, list[float] | SparseVector]],
        tags: Sequence[str] = (),
        limit: int = 20,
        *,
        not_tags: Sequence[str] = (),
    ) -> list[list[tuple[str, float]]]:
        where = _tag_filter(tags, not_tags)
        requests: list[models.QueryRequest | None] = []
        for using, vector in queries:
            query: list[float] | models.SparseVector
            if isinstance(vector, SparseVector):
                if not vector.indices:  # no terms, nothing lexical to match
                    requests.append(None)
                    continue
                query = models.SparseVector(indices=vector.indices, values=vector.values)
            else:
                query = vector
            requests.append(
                models.QueryRequest(
                    query=query, using=using, filter=where, limit=limit, with_payload=False,
                    with_vector=False, params=_search_params(using),
                )
            )  # fmt: skip
        asked = [r for r in requests if r is not None]
        answers = iter(self._client.query_batch_points(self.collection, asked) if asked else [])
        return [[] if r is None else [(str(p.id), p.score) for p in next(answers).points] for r in requests]

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredImage]:
        if not ids:
            return {}
        records = self._client.retrieve(self.collection, list(ids), with_payload=True, with_vectors=False)
        return {str(r.id): decode_payload(r.payload) for r in records}

    def image_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids or IMAGE not in _dense_params(self._client, self.collection):
            return {}
        records = self._client.retrieve(self.collection, list(ids), with_payload=False, with_vectors=[IMAGE])
        found = {str(r.id): r.vector.get(IMAGE) for r in records if isinstance(r.vector, dict)}
        return {pid: list(v) for pid, v in found.items() if isinstance(v, list)}  # type: ignore[arg-type]

    def vectors(self, id: str) -> dict[str, list[float] | SparseVector]:
        records = self._client.retrieve(self.collection, [id], with_payload=False, with_vectors=True)
        found = records[0].vector if records and isinstance(records[0].vector, dict) else {}
        out: dict[str, list[float] | SparseVector] = {}
        for name, value in found.items():
            if isinstance(value, models.SparseVector):
                out[name] = SparseVector(indices=list(value.indices), values=[float(v) for v in value.values])
            elif isinstance(value, list) and all(isinstance(v, float | int) for v in value):
                out[name] = [float(v) for v in value]  # type: ignore[arg-type]
        return out

    def set_image_vectors(self, vectors: Sequence[tuple[str, list[float]]], model: str) -> None:
        for start in range(0, len(vectors), UPSERT_BATCH):
            batch = vectors[start : start + UPSERT_BATCH]
            points = [models.PointVectors(id=pid, vector={IMAGE: v}) for pid, v in batch]
            self._client.update_vectors(self.collection, points, wait=True)
            ids: list[models.ExtendedPointId] = [pid for pid, _ in batch]
            self._client.set_payload(self.collection, {"image_model": model}, points=ids, wait=True)

    def facets(
        self, tags: Sequence[str] = (), limit: int = 50, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, int]]:
        response = self._client.facet(
            self.collection, "tags", facet_filter=_tag_filter(tags, not_tags), limit=limit, exact=True
        )
        # ties broken by name so both adapters (and repeated calls) agree
        return sorted(((str(h.value), h.count) for h in response.hits), key=lambda vc: (-vc[1], vc[0]))

    def count(self, tags: Sequence[str] = (), *, not_tags: Sequence[str] = ()) -> int:
        return self._client.count(self.collection, count_filter=_tag_filter(tags, not_tags), exact=True).count

    def latest(
        self, tags: Sequence[str] = (), limit: int = 20, *, not_tags: Sequence[str] = ()
    ) -> list[tuple[str, StoredImage]]:
        records, _ = self._client.scroll(
            self.collection,
            limit=limit,
            scroll_filter=_tag_filter(tags, not_tags),
            order_by=models.OrderBy(key=ORDER_FIELD, direction=models.Direction.DESC),
            with_payload=True,
            with_vectors=False,
        )
        return [(str(r.id), decode_payload(r.payload)) for r in records]

    def scroll(self, batch: int = 256, tags: Sequence[str] = ()) -> Iterator[tuple[str, StoredImage]]:
        offset: models.ExtendedPointId | None = None
        while True:
            records, offset = self._client.scroll(
                self.collection, limit=batch, offset=offset, scroll_filter=_tag_filter(tags),
                with_payload=True, with_vectors=False,
            )  # fmt: skip
            for record in records:
                yield str(record.id), decode_payload(record.payload)
            if offset is None:
                return

    def optimize(self) -> bool:
        """Nothing to do: the server's own optimiser indexes segments as they fill."""
        return False

    def close(self) -> None:
        self._client.close()


def _prepare_collection(
    client: QdrantClient, collection: str, dense_size: int, recreate: bool, layout: CollectionLayout
) -> None:
    if recreate and client.collection_exists(collection):
        client.delete_collection(collection)
    if client.collection_exists(collection):
        _check_collection(client, collection, dense_size)
        _ensure_int8(client, collection)
    else:
        cosine, dot = models.Distance.COSINE, models.Distance.DOT
        client.create_collection(
            collection,
            # the float vectors on disk, int8 copies in RAM (catalog/store/tuning.py)
            vectors_config={
                DENSE: models.VectorParams(size=dense_size, distance=cosine, on_disk=True),
                FOCUS: models.VectorParams(size=dense_size, distance=cosine, on_disk=True),
                # dot product: the label distribution's length carries how confident it is
                LABELS: models.VectorParams(size=dense_size, distance=dot, on_disk=True),
            },
            # IDF turns the client-side term-frequency weights into BM25-like scores
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            hnsw_config=models.HnswConfigDiff(m=tuning.HNSW_M, ef_construct=tuning.HNSW_EF_CONSTRUCT),
            # the collection-wide setting, so that a vector added later (IMAGE) has it too
            quantization_config=_INT8,
            on_disk_payload=True,
            # a cluster's layout (local mode ignores both)
            shard_number=layout.shards,
            replication_factor=layout.replicas,
        )
    _ensure_payload_indexes(client, collection)


_INT8 = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(
        type=models.ScalarType.INT8, quantile=tuning.QUANTILE, always_ram=True
    )
)
# the HNSW walk on the int8 copies, its best candidates rescored on the float vectors
_SEARCH = models.SearchParams(
    hnsw_ef=tuning.HNSW_EF,
    quantization=models.QuantizationSearchParams(rescore=True, oversampling=tuning.OVERSAMPLING),
)
# the secondary views: the walk on the int8 copies alone (tuning.RESCORED_VIEWS)
_SEARCH_INT8 = models.SearchParams(
    hnsw_ef=tuning.HNSW_EF, quantization=models.QuantizationSearchParams(rescore=False)
)


def _search_params(using: str) -> models.SearchParams:
    return _SEARCH if using in tuning.RESCORED_VIEWS else _SEARCH_INT8


def _ensure_int8(client: QdrantClient, collection: str) -> None:
    """Give a collection of an earlier version the int8 layout: the server rebuilds its
    segments in the background and keeps answering meanwhile (local mode ignores it)."""
    config = client.get_collection(collection).config
    if config.quantization_config is not None:
        return
    on_disk = {name: models.VectorParamsDiff(on_disk=True) for name in _dense_params(client, collection)}
    client.update_collection(
        collection,
        vectors_config=on_disk,
        quantization_config=_INT8,
        hnsw_config=models.HnswConfigDiff(m=tuning.HNSW_M, ef_construct=tuning.HNSW_EF_CONSTRUCT),
    )


def _dense_params(client: QdrantClient, collection: str) -> dict[str, models.VectorParams]:
    params = client.get_collection(collection).config.params
    return dict(params.vectors) if isinstance(params.vectors, dict) else {}


def _ensure_image_vector(client: QdrantClient, collection: str, size: int | None) -> None:
    """Declare IMAGE at `size` (Qdrant adds a named vector to a live collection); one of
    another size (another image model) goes first, with its vectors."""
    if size is None:
        return
    stored = _dense_params(client, collection).get(IMAGE)
    if stored is not None and stored.size == size:
        return
    if stored is not None:
        client.delete_vector_name(collection, IMAGE, wait=True)
    config = models.DenseVectorConfig(size=size, distance=models.Distance.COSINE)
    client.create_vector_name(collection, IMAGE, models.DenseVectorNameConfig(dense=config), wait=True)


def _check_collection(client: QdrantClient, collection: str, dense_size: int) -> None:
    """Compare the collection's named vectors with what this version needs."""
    params = client.get_collection(collection).config.params
    dense = params.vectors if isinstance(params.vectors, dict) else {}
    stored = {*dense, *(params.sparse_vectors or {})}
    where = f"the Qdrant collection {collection!r}"
    if DENSE in dense and dense[DENSE].size != dense_size:
        raise DimensionMismatchError(where, dense[DENSE].size, dense_size)
    missing = [name for name in VECTORS if name not in stored]
    if missing:
        raise SchemaChangedError(where, missing)


def _ensure_payload_indexes(client: QdrantClient, collection: str) -> None:
    """The same indexes as the embedded store (tuning.INDEXED_KEYWORDS and ORDER_FIELD);
    any other index a collection of an earlier version has is dropped."""
    have = client.get_collection(collection).payload_schema
    with warnings.catch_warnings():
        # local mode warns that payload indexes have no effect there; a server uses them
        warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
        for field in have.keys() - {*tuning.INDEXED_KEYWORDS, ORDER_FIELD}:
            client.delete_payload_index(collection, field, wait=True)
        for field in tuning.INDEXED_KEYWORDS:
            if field not in have:
                client.create_payload_index(collection, field, models.PayloadSchemaType.KEYWORD, wait=True)
        if ORDER_FIELD not in have:
            client.create_payload_index(collection, ORDER_FIELD, models.PayloadSchemaType.DATETIME, wait=True)


def _tag_filter(tags: Sequence[str], not_tags: Sequence[str] = ()) -> models.Filter | None:
    # one condition per tag, all in `must`: a hit carries every tag; and none in `must_not`
    if not tags and not not_tags:
        return None

    def each(names: Sequence[str]) -> list[models.Condition] | None:
        found: list[models.Condition] = [
            models.FieldCondition(key="tags", match=models.MatchValue(value=t)) for t in names
        ]
        return found or None

    return models.Filter(must=each(tags), must_not=each(not_tags))


def _to_point(point: ImagePoint) -> models.PointStruct:
    vectors: dict[str, models.Vector] = {
        DENSE: point.dense,
        SPARSE: models.SparseVector(indices=point.sparse.indices, values=point.sparse.values),
    }
    # a point may lack a view: Qdrant keeps it out of that vector's searches
    if point.focus is not None:
        vectors[FOCUS] = point.focus
    if point.labels is not None:
        vectors[LABELS] = point.labels
    if point.image is not None:
        vectors[IMAGE] = point.image
    return models.PointStruct(id=point.id, vector=vectors, payload=msgspec.to_builtins(point.payload))
