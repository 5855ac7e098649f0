"""Search: embed the query twice (dense + lexical), run a hybrid Qdrant query
with tag filters and a relevance cut-off, and return hits. Shared by REST, CLI
and the web pages."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from describe.vocabulary import normalise_tag
from indexer.embed import TextEmbedder, sparse_vector
from indexer.store.base import Hit, Store

# Cosine similarity below which a dense match is noise for all-MiniLM-L6-v2 on
# our descriptions. Measured on the 28-image sample set: a query for what an image
# shows scores 0.40–0.58 against it ("cat" 0.55, "coffee cup" 0.52, "building" 0.40),
# unrelated images 0.18–0.29 ("dog" → the cat photo 0.29, "banana" → a sign 0.25).
# Exact words still match below the cut-off through the sparse (lexical) side.
DEFAULT_MIN_SCORE = 0.3
MAX_LIMIT = 100


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


class SearchService:
    def __init__(self, store: Store, embedder: TextEmbedder, min_score: float = DEFAULT_MIN_SCORE) -> None:
        self.store = store
        self.embedder = embedder
        self.min_score = min_score

    def search(self, query: str, tags: Sequence[str] = (), limit: int = 20) -> list[SearchHit]:
        limit = max(1, min(limit, MAX_LIMIT))
        wanted = [n for n in map(normalise_tag, tags) if n]  # "_" normalises to nothing
        query = " ".join(query.split())
        if not query:
            return self.browse(wanted, limit)
        hits = self.store.query(
            self.embedder.embed_one(query),
            sparse_vector(query, query=True),
            tags=wanted,
            limit=limit,
            min_dense_score=self.min_score,
        )
        return [_to_hit(h) for h in hits]

    def browse(self, tags: Sequence[str] = (), limit: int = 20) -> list[SearchHit]:
        """No query text: the images that carry every tag (all images when none), newest first."""
        return [_to_hit(Hit(id=id, score=0.0, payload=p)) for id, p in self.store.latest(tags, limit)]

    def facets(self, tags: Sequence[str] = (), limit: int = 50) -> list[tuple[str, int]]:
        return self.store.facets([n for n in map(normalise_tag, tags) if n], limit)


def _to_hit(hit: Hit) -> SearchHit:
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
    )
