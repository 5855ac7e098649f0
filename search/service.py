"""Search: embed the query once for the three dense views and once as lexical
terms, ask the store for each view's best candidates, fuse the scores with
calibrated weights (search/fusion.py) and return hits — all of them ranked, the
likely ones marked. Shared by REST, CLI and the web pages.

With an image-text query encoder (the SigLIP 2 tagger), the query is also embedded by
its text tower and matched against the points' image vectors: a fifth view. Points
without an image vector are simply not in that view's candidates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import msgspec

from catalog.embed import TextEmbedder, sparse_vector
from catalog.store.base import DENSE, FOCUS, IMAGE, LABELS, SPARSE, Hit, Store
from describe.knowledge.vocabulary import normalise_tag
from search.fusion import Weights, fuse, likely_cut, match_probability, saturate

if TYPE_CHECKING:
    from catalog.factory import Catalog

MAX_LIMIT = 100
# Characters of a query that count, for every way in (REST, pages, CLI): whitespace is
# collapsed first. A query longer than a paragraph adds nothing a person meant and costs
# embedding time (the tokenizer cuts at 256 tokens anyway).
MAX_QUERY = 500
# Candidates asked of each view: fusion can only reorder what the views return, and a
# relevant image ranked low by one view is often lifted by another.
MIN_CANDIDATES = 100
# Hits scoring at least this share of the best hit are "likely"; the others are shown
# below a divider, never hidden. Over both dev sets' 196 queries, of the first 10 hits
# 0.7 kept 92 % of the relevant images above the divider and moved 57 % of the others
# below it (0.8: 83 % / 70 %; 0.6: 97 % / 41 %).
LIKELY_RATIO = 0.7


class SearchHit(msgspec.Struct):
    id: str
    path: str
    filename: str
    score: float
    description: str
    tags: list[str]
    paths: list[str]
    alt: str
    width: int
    height: int
    # above the "less likely" divider: within LIKELY_RATIO of the best hit's score
    likely: bool = True


class QueryImageEncoder(Protocol):
    """An image-text model's text side: the SigLIP 2 tagger (describe/analyzers/siglip/)."""

    scale: float  # the learned temperature and bias of its sigmoid
    bias: float

    def embed_query(self, text: str) -> list[float] | None:
        """The query in the image vectors' space; None when the model can't run here."""
        ...


class SearchService:
    def __init__(
        self,
        store: Store,
        embedder: TextEmbedder,
        weights: Weights | None = None,
        likely_ratio: float = LIKELY_RATIO,
        image_query: QueryImageEncoder | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.weights = weights or Weights()
        self.likely_ratio = likely_ratio
        self.image_query = image_query

    @classmethod
    def over(cls, catalog: Catalog) -> SearchService:
        """Search as it is served: every view the catalog has, the image view included
        when its tagger is active. Every way in builds its search with this."""
        return cls(catalog.store, catalog.embedder, image_query=catalog.tagger)

    def search(self, query: str, tags: Sequence[str] = (), limit: int = 20) -> list[SearchHit]:
        limit = max(1, min(limit, MAX_LIMIT))
        wanted = [n for n in map(normalise_tag, tags) if n]  # "_" normalises to nothing
        query = clean_query(query)
        if not query:
            return self.browse(wanted, limit)
        ranked = self.rank(query, wanted, limit)
        payloads = self.store.get_many([pid for pid, _ in ranked])
        likely = likely_cut(ranked, self.likely_ratio)
        return [
            _to_hit(Hit(id=pid, score=score, payload=payloads[pid]), likely=i < likely)
            for i, (pid, score) in enumerate(ranked)
            if pid in payloads  # deleted between the two calls
        ]

    def rank(self, query: str, tags: Sequence[str], limit: int) -> list[tuple[str, float]]:
        """(id, fused score) of the best `limit` images for a query."""
        n = max(MIN_CANDIDATES, 4 * limit)
        views = self.views(query, tags, n)
        # a view that returned fewer than asked returned all it has
        complete = {name: len(ranked) < n for name, ranked in views.items()}
        return list(fuse(views, self.weights.by_view(), complete)[:limit])

    def views(self, query: str, tags: Sequence[str], n: int) -> dict[str, list[tuple[str, float]]]:
        """Each view's best `n` candidates as (id, score), scores on the scale fusion
        weighs them on. Public so that tools/fusion_ceiling.py measures these very views."""
        vector = self.embedder.embed_one(query)
        w = self.weights
        views = {
            DENSE: self.store.nearest(DENSE, vector, tags, n),
            FOCUS: self.store.nearest(FOCUS, vector, tags, n),
            LABELS: self.store.nearest(LABELS, vector, tags, n),
            SPARSE: [
                (pid, saturate(score, w.sparse_saturation))
                for pid, score in self.store.nearest(SPARSE, sparse_vector(query, query=True), tags, n)
            ],
        }
        image_vector = self.image_query.embed_query(query) if self.image_query and w.image > 0 else None
        if image_vector is not None and self.image_query is not None:
            scale, bias = self.image_query.scale, self.image_query.bias
            views[IMAGE] = [
                (pid, match_probability(cosine, scale, bias))
                for pid, cosine in self.store.nearest(IMAGE, image_vector, tags, n)
            ]
        return views

    def browse(self, tags: Sequence[str] = (), limit: int = 20) -> list[SearchHit]:
        """No query text: the images that carry every tag (all images when none), newest first."""
        return [_to_hit(Hit(id=id, score=0.0, payload=p)) for id, p in self.store.latest(tags, limit)]

    def facets(self, tags: Sequence[str] = (), limit: int = 50) -> list[tuple[str, int]]:
        return self.store.facets([n for n in map(normalise_tag, tags) if n], limit)


def clean_query(query: str) -> str:
    """The query as searched: whitespace collapsed, at most MAX_QUERY characters."""
    return " ".join(query.split())[:MAX_QUERY]


def _to_hit(hit: Hit, likely: bool = True) -> SearchHit:
    p = hit.payload
    return SearchHit(
        id=hit.id,
        path=p.paths[0] if p.paths else "",
        filename=p.filename,
        score=round(hit.score, 4),
        description=p.description,
        tags=p.tags,
        paths=p.paths,
        alt=p.alt,
        width=p.width,
        height=p.height,
        likely=likely,
    )
