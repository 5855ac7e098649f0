"""SearchService over a real embedded store: fused ranking, nothing cut off, the likely
divider, tag filters, browsing and facets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.points import PointEncoder, stored_image
from catalog.store.base import point_id
from catalog.store.edge import EdgeStore
from describe.facts import Description, DetectedObject, Label
from search.fusion import Weights
from search.service import SearchHit, SearchService
from tests.fakes import HashEmbedder, make_description

IMAGES = {
    # name: (caption, tags, labels, text, indexed_at)
    "cat.jpg": ("An image of a cat on a sofa.", ["cat", "sofa", "animal"], ["tabby"], "", "2026-01-03"),
    "sale.png": (
        "A banner that reads SALE.",
        ["sign", "text", "red"],
        ["book jacket"],
        "SALE 50% OFF",
        "2026-01-02",
    ),
    "beach.jpg": ("An image of a seashore.", ["seashore", "water", "sky"], ["seashore"], "", "2026-01-01"),
}


def description(caption: str, tags: list[str], labels: list[str], text: str) -> Description:
    return make_description(
        caption, tags=tags, labels=[Label(name, 0.6, "object") for name in labels], text=text
    )


@pytest.fixture
def search(tmp_path: Path) -> Iterator[SearchService]:
    embedder = HashEmbedder(dim=64)
    store = EdgeStore.open(tmp_path / "store", embedder.dim)
    encoder = PointEncoder(embedder)
    for name, (caption, tags, labels, text, when) in IMAGES.items():
        sha = name.encode().hex().ljust(64, "0")
        payload = stored_image(
            description(caption, tags, labels, text),
            sha256=sha,
            paths=[name],
            boxes=[DetectedObject(tags[0], 0.9, (0, 0, 1, 1))],
            indexed_at=f"{when}T00:00:00Z",
        )
        store.upsert([encoder.point(point_id(sha), payload)])
    try:
        yield SearchService(store, embedder)
    finally:
        store.close()


def names(hits: list[SearchHit]) -> list[str]:
    return [h.filename for h in hits]


def test_every_image_is_ranked_and_the_best_first(search: SearchService) -> None:
    hits = search.search("cat sofa")
    assert names(hits)[0] == "cat.jpg"
    assert sorted(names(hits)) == sorted(IMAGES)  # no cut-off
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_likely_hits_come_first_and_are_within_the_ratio(search: SearchService) -> None:
    hits = search.search("cat sofa")
    flags = [h.likely for h in hits]
    assert flags[0] and flags == sorted(flags, reverse=True)  # a prefix of True, then False
    best = hits[0].score
    assert all((h.score >= best * search.likely_ratio) == h.likely for h in hits)


def test_exact_words_from_ocr_rank_their_image_first(search: SearchService) -> None:
    assert names(search.search("sale"))[0] == "sale.png"


def test_the_lexical_view_alone_scores_only_shared_words(search: SearchService) -> None:
    lexical = SearchService(search.store, search.embedder, Weights(dense=0, focus=0, labels=0, sparse=1))
    hits = lexical.search("water")
    assert names(hits)[0] == "beach.jpg" and hits[0].score > 0
    assert all(h.score == 0 for h in hits[1:])  # no shared term: nothing from this view


def test_tags_must_all_match_and_empty_ones_are_ignored(search: SearchService) -> None:
    assert names(search.search("image", tags=["animal"])) == ["cat.jpg"]
    assert search.search("image", tags=["animal", "sign"]) == []
    assert sorted(names(search.search("image", tags=["_", " "]))) == sorted(IMAGES)


def test_browse_without_a_query_is_newest_first(search: SearchService) -> None:
    assert names(search.search("  ")) == ["cat.jpg", "sale.png", "beach.jpg"]
    assert names(search.search("", tags=["sign"])) == ["sale.png"]


def test_facets_count_tags_over_the_filtered_images(search: SearchService) -> None:
    assert dict(search.facets())["animal"] == 1
    assert dict(search.facets(["sign"])) == {"sign": 1, "text": 1, "red": 1}


def test_limit_is_clamped(search: SearchService) -> None:
    assert len(search.search("image", limit=1)) == 1
    assert len(search.search("image", limit=0)) == 1


def test_views_are_what_the_ranking_fuses(search: SearchService) -> None:
    views = search.views("sale", (), 10)
    assert set(views) == {"dense", "focus", "labels", "sparse"}  # no image-text encoder here
    assert all(len(ranked) == len(IMAGES) for name, ranked in views.items() if name != "sparse")
    [(sale_id, sale_score)] = views["sparse"]  # only the sale banner has the word
    assert 0 < sale_score < 1  # saturated BM25
    w = search.weights
    weights = {"dense": w.dense, "focus": w.focus, "labels": w.labels, "sparse": w.sparse}
    by_hand = {
        pid: sum(weights[v] * dict(r).get(pid, 0.0) for v, r in views.items()) for pid, _ in views["dense"]
    }
    assert search.rank("sale", (), 10) == sorted(by_hand.items(), key=lambda kv: (-kv[1], kv[0]))
    assert search.rank("sale", (), 10)[0][0] == sale_id


def test_a_query_is_capped_where_every_way_in_meets_it(search: SearchService) -> None:
    """REST, the pages and the CLI all search through SearchService.search: the cap is here."""
    from search.service import MAX_QUERY

    embedder = search.embedder
    assert isinstance(embedder, HashEmbedder)
    long_query = "sale  " + "water " * 400  # 2406 characters, runs of spaces included
    hits = search.search(long_query)
    assert embedder.embedded[-1] == " ".join(long_query.split())[:MAX_QUERY]
    assert names(hits) == names(search.search(" ".join(long_query.split())[:MAX_QUERY]))
