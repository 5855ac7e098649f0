"""Reading `-word` and `-"two words"` out of a query (search/query.py), and the test an
exclusion makes on a stored image: lenient on every input, whole words, plurals folded."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.points import PointEncoder, stored_image
from catalog.store.base import StoredImage, point_id
from search import service as service_module
from search.query import MAX_EXCLUSIONS, Exclusions, ParsedQuery, format_query, parse_query
from search.service import SearchService
from search.words import WORD
from tests.fakes import FakeStore, HashEmbedder, make_description


@pytest.mark.parametrize(
    ("raw", "text", "excluded"),
    [
        ("animal -cat", "animal", ("cat",)),
        ('a -"black cat" b', "a b", ("black cat",)),
        ("-cat", "", ("cat",)),
        ("-Cat -CAT -cat,", "", ("cat",)),  # case and punctuation around do not matter; repeats count once
        ("-ai-generated photo", "photo", ("ai-generated",)),  # a hyphen inside stays
        ("well-known -x", "well-known", ("x",)),  # a dash inside a word is no exclusion
        ("-“smart quotes” dog", "dog", ("smart quotes",)),
        ('-"  Two   Words  "', "", ("two words",)),
        ("-ÉTÉ plage", "plage", ("été",)),
    ],
)
def test_exclusions_are_read_out_of_the_text(raw: str, text: str, excluded: tuple[str, ...]) -> None:
    assert parse_query(raw) == ParsedQuery(text, excluded)


@pytest.mark.parametrize(
    ("raw", "text", "excluded"),
    [
        ("-", "", ()),  # a lone minus is dropped
        ("cat -", "cat", ()),
        ("cat - dog", "cat dog", ()),
        ("---", "", ()),
        ("--x", "--x", ()),  # not a minus and a word: plain text
        ("-!", "-!", ()),
        ('-"unclosed phrase', "", ("unclosed phrase",)),  # runs to the end, as someone typing means
        ('cat -"', "cat", ()),  # an empty phrase says nothing
        ('x -"" y', "x y", ()),
        ('-"!!"', "", ()),  # no word in it
        ('"quoted -x" y', '"quoted y', ("x",)),  # a quote without the minus is plain text
        ('-"a"b', "b", ("a",)),
        ("", "", ()),
        ("   ", "", ()),
        ("\t-cat\n", "", ("cat",)),
        ("-€uro", "-€uro", ()),  # a minus before a symbol is text
        ('-"€uro"', "", ("€uro",)),
    ],
)
def test_malformed_syntax_is_read_leniently(raw: str, text: str, excluded: tuple[str, ...]) -> None:
    assert parse_query(raw) == ParsedQuery(text, excluded)


def test_exclusions_are_capped() -> None:
    parsed = parse_query(" ".join(f"-w{i}" for i in range(MAX_EXCLUSIONS + 5)))
    assert len(parsed.excluded) == MAX_EXCLUSIONS and parsed.excluded[0] == "w0"


@pytest.mark.parametrize(
    ("text", "excluded", "query"),
    [
        ("animal", ("cat",), "animal -cat"),
        ("", ("black cat",), '-"black cat"'),
        ("x", ("€uro", "ai-generated"), 'x -"€uro" -ai-generated'),
        ("", (), ""),
    ],
)
def test_format_writes_what_parses_back(text: str, excluded: tuple[str, ...], query: str) -> None:
    assert format_query(text, excluded) == query
    assert parse_query(query) == ParsedQuery(text, excluded)


# characters that make the syntax: minus, quotes of every kind, spaces, punctuation, letters
_SYNTAX = st.text(alphabet=st.sampled_from(list("-\"“”„' \t\n.,!abcAB1é€_")), max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_SYNTAX, st.text(max_size=60)))
def test_any_text_parses_and_round_trips(raw: str) -> None:
    parsed = parse_query(raw)
    # what is searched holds no exclusion of its own, and every exclusion holds a word
    assert parse_query(parsed.text).excluded == ()
    assert all(WORD.search(p) and p == p.lower() and p == p.strip() for p in parsed.excluded)
    assert len(set(parsed.excluded)) == len(parsed.excluded) <= MAX_EXCLUSIONS
    # the chips' links: the query written back reads the same
    assert parse_query(format_query(parsed.text, parsed.excluded)) == parsed
    # and one exclusion taken away leaves the others
    for phrase in parsed.excluded:
        rest = [p for p in parsed.excluded if p != phrase]
        assert parse_query(format_query(parsed.text, rest)) == ParsedQuery(parsed.text, tuple(rest))


# --- the test on a stored image ------------------------------------------------------


def image(description: str = "", tags: tuple[str, ...] = (), text: str = "") -> StoredImage:
    return StoredImage(sha256="0" * 64, paths=["a.jpg"], filename="a.jpg", description=description,
                       tags=list(tags), text=text)  # fmt: skip


@pytest.mark.parametrize(
    ("phrase", "stored", "left_out"),
    [
        ("cat", image("A cat on a sofa."), True),
        ("cat", image("Two CATS on a sofa."), True),  # any case, plural folded
        ("cats", image("A cat on a sofa."), True),
        ("cat", image("The cat's bowl."), True),
        ("cat", image("A category of things, a concatenation."), False),  # whole words only
        ("cat", image("A dog.", tags=("black cat",)), True),  # inside a tag
        ("cat", image("A dog.", tags=("cat",)), True),
        ("cat", image("A dog.", text="CAT FOOD"), True),  # the visible text
        ("cat", image("A dog.", tags=("catamaran",), text="Scatter"), False),
        ("puppy", image("Three puppies."), True),
        ("black cat", image("A black-cat sign."), True),
        ("black cat", image("A black dog and a cat."), False),  # a phrase is its words in order
        ("black cat", image("A bigger black cats club."), True),
        ("cat on sofa", image("A cat on a sofa."), False),  # stop words count inside a phrase
        ("people", image("A street.", tags=("person",)), True),  # the describer's name for the tag
        ("été", image("Un été à la plage."), True),  # non-ASCII words match as written
        ("café", image("A cafe."), False),
    ],
)
def test_an_excluded_word_leaves_out_an_image_holding_it(
    phrase: str, stored: StoredImage, left_out: bool
) -> None:
    assert Exclusions([phrase]).excludes(stored) is left_out


def test_exclusions_name_the_tags_the_store_leaves_out() -> None:
    assert Exclusions(["cats", "people", "black cat"]).tags == ("cat", "person", "black cat")
    assert not Exclusions([]) and Exclusions(["x"])
    nothing = Exclusions([])
    assert not nothing.excludes(image("A cat.", tags=("cat",)))


# --- in the search service -------------------------------------------------------------


def service_over(captions: dict[str, tuple[str, list[str]]]) -> tuple[SearchService, FakeStore]:
    embedder, store = HashEmbedder(), FakeStore()
    encoder = PointEncoder(embedder)
    for day, (name, (caption, tags)) in enumerate(captions.items(), start=1):
        sha = name.encode().hex().ljust(64, "0")
        payload = stored_image(make_description(caption, tags=tags), sha256=sha, paths=[name],
                               indexed_at=f"2026-01-01T00:00:{day:02d}Z")  # fmt: skip
        store.upsert([encoder.point(point_id(sha), payload)])
    return SearchService(store, embedder), store


def test_a_page_still_fills_when_excluded_words_drop_most_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    # twenty images that name a cat only in their description (no tag the store could filter)
    # rank above the three dogs; the views are asked for 4 candidates, then for more
    images = {f"cat{i:02d}.jpg": ("An animal, a cat, an animal.", ["animal"]) for i in range(20)}
    images |= {f"dog{i}.jpg": ("A dog.", ["animal", "dog"]) for i in range(3)}
    search, store = service_over(images)
    monkeypatch.setattr(service_module, "MIN_CANDIDATES", 4)
    asked: list[int] = []
    nearest = store.nearest

    def counted(*args: Any, **kwargs: Any) -> list[tuple[str, float]]:
        asked.append(args[3])
        return nearest(*args, **kwargs)

    monkeypatch.setattr(store, "nearest", counted)
    hits = search.search("animal -cat", limit=3)
    assert sorted(h.filename for h in hits) == ["dog0.jpg", "dog1.jpg", "dog2.jpg"]
    assert max(asked) > 4  # the second round asked for more
    assert hits[0].likely and all(h.why is not None for h in hits)
    # browsing with an exclusion reads further too, newest first
    assert [h.filename for h in search.search("-cat", limit=2)] == ["dog2.jpg", "dog1.jpg"]


def test_excluded_words_are_left_out_by_the_store_as_tags_too(monkeypatch: pytest.MonkeyPatch) -> None:
    search, store = service_over({"a.jpg": ("A picture.", ["person"]), "b.jpg": ("A picture.", ["tree"])})
    filters: list[list[str]] = []
    nearest = store.nearest

    def spied(*args: Any, not_tags: Any = (), **kwargs: Any) -> list[tuple[str, float]]:
        filters.append(list(not_tags))
        return nearest(*args, not_tags=not_tags, **kwargs)

    monkeypatch.setattr(store, "nearest", spied)
    assert [h.filename for h in search.search("picture -people")] == ["b.jpg"]
    assert filters and all(f == ["person"] for f in filters)  # the describer's tag for "people"
    filters.clear()
    assert [h.filename for h in search.search("picture -tree", not_tags=["People", "_"])] == []
    assert filters and all(f == ["person", "tree"] for f in filters)
    assert search.facets(not_tags=["tree"]) == [("person", 1)]


def test_rank_the_exports_ranking_leaves_out_what_search_leaves_out() -> None:
    """An export with a query ranks up to 1000 hits through rank(): its `-word`s and
    not_tags must leave out what the search page leaves out."""
    images = {f"cat{i}.jpg": ("An animal, a cat.", ["animal"]) for i in range(3)}
    images |= {f"dog{i}.jpg": ("An animal, a dog.", ["animal", "dog"]) for i in range(2)}
    search, store = service_over(images)
    names = {pid: p.filename for pid, p in store.scroll()}
    assert {names[pid] for pid, _ in search.rank("animal -cat", [], 1000)} == {"dog0.jpg", "dog1.jpg"}
    assert {names[pid] for pid, _ in search.rank("animal", [], 1000, not_tags=["dog"])} == {
        "cat0.jpg",
        "cat1.jpg",
        "cat2.jpg",
    }
    assert len(search.rank("animal", [], 1000)) == 5
