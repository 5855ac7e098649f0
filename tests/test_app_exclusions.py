"""Exclusions and why a hit matched, through every way in: REST (`not_tag=`, `-word` in
`q`, lenient syntax), the search page (exclusion chips, "leave out" links, the Why
details, escaped) and `imgdesc search --not-tag` through a running server.

Over the fake site (tests/fake_app.py) with points written straight into its store, so
each image's description and tags are known."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from app.services import Services
from catalog.points import PointEncoder, stored_image
from catalog.store.base import point_id
from tests.fake_app import fake_site
from tests.fakes import fake_analyzers, make_description

HOSTILE = '<script>alert("x")</script> A dog next to a cat-flap.'
IMAGES = {
    # filename: (caption, tags, visible text)
    "cat.jpg": ("A tabby cat on a sofa, an animal at rest.", ["cat", "animal", "sofa"], ""),
    # "cat" only in the description: the store's tag filter cannot see it, the word check does
    "kittens.jpg": ("Two kittens in a garden; an animal and a cat sleep nearby.", ["animal", "garden"], ""),
    # "cat" only in the visible text
    "sign.jpg": ("A sign on a wall, a drawing of an animal.", ["sign", "animal"], "BEWARE OF THE CAT"),
    "dog.jpg": ("A dog on a lawn. The animal runs after a ball.", ["dog", "animal", "lawn"], ""),
    "bird.jpg": ("A bird on a branch, a small animal.", ["bird", "animal"], ""),
    "hostile.jpg": (HOSTILE, ["animal", "<b>bold</b>"], ""),
}


Body = dict[str, Any]
Param = str | list[str]


def ids_of(body: Body) -> list[str]:
    return [hit["filename"] for hit in body["hits"]]


def holds_cat(hit: Body) -> bool:
    return any(re.search(r"\bcats?\b", f, re.IGNORECASE) for f in [hit["description"], *hit["tags"]])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with fake_analyzers(), fake_site(tmp_path_factory.mktemp("exclusions")) as client:
        services: Services = client.app.state["runtime"].services
        encoder = PointEncoder(services.embedder)
        for day, (name, (caption, tags, text)) in enumerate(IMAGES.items(), start=1):
            sha = name.encode().hex().ljust(64, "0")
            payload = stored_image(
                make_description(caption, tags=tags, text=text),
                sha256=sha,
                paths=[name],
                indexed_at=f"2026-01-{day:02d}T00:00:00Z",
            )
            services.store.upsert([encoder.point(point_id(sha), payload)])
        yield client


def search(site: TestClient, **params: Param) -> Body:
    response = site.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    body: Body = response.json()
    return body


# --- REST ------------------------------------------------------------------------------


def test_not_tag_leaves_out_every_image_tagged_so(site: TestClient) -> None:
    everything = search(site, q="animal")
    assert "cat.jpg" in ids_of(everything)
    body = search(site, q="animal", not_tag="cat")
    assert body["not_tags"] == ["cat"] and body["hits"]
    assert all("cat" not in hit["tags"] for hit in body["hits"])
    assert set(ids_of(body)) == set(ids_of(everything)) - {"cat.jpg"}
    # repeatable, and normalised as tags are ("Dogs" is the tag "dog")
    both = search(site, q="animal", not_tag=["cat", "Dogs"])
    assert "dog.jpg" not in ids_of(both) and "cat.jpg" not in ids_of(both) and "bird.jpg" in ids_of(both)


def test_a_minus_word_leaves_out_images_whose_description_tags_or_text_hold_it(site: TestClient) -> None:
    body = search(site, q="animal -cat")
    assert body["excluded"] == ["cat"] and body["query"] == "animal -cat"
    # cat.jpg by its tag, kittens.jpg by its description, sign.jpg by its visible text and
    # hostile.jpg by "cat-flap" (a hyphen parts words)
    assert set(ids_of(body)) == {"dog.jpg", "bird.jpg"}
    assert not any(holds_cat(hit) for hit in body["hits"])
    # a phrase; plurals folded ("flaps" leaves out "cat-flap"); and no other text (browsing, newest first)
    assert "dog.jpg" not in ids_of(search(site, q='animal -"a dog"'))
    assert "hostile.jpg" not in ids_of(search(site, q="dog -flaps"))
    assert ids_of(search(site, q="-cat -bird")) == ["dog.jpg"]
    assert ids_of(search(site, q="-cat", not_tag="dog")) == ["bird.jpg"]


def test_a_word_inside_another_is_not_left_out(site: TestClient) -> None:
    # -sof does not leave out "sofa", nor -all "ball"
    assert "cat.jpg" in ids_of(search(site, q="animal -sof"))
    assert "dog.jpg" in ids_of(search(site, q="animal -all"))


@pytest.mark.parametrize(
    "q",
    ["-", "animal -", "--", "---x", '-"', '-"unclosed', '"', '""', '-""', "- - -", "-\t", '-"-"', "-" * 600],
)
def test_malformed_syntax_never_gives_an_error(site: TestClient, q: str) -> None:
    body = search(site, q=q)
    assert isinstance(body["hits"], list)


def test_a_lone_minus_is_read_as_nothing(site: TestClient) -> None:
    assert ids_of(search(site, q="animal -")) == ids_of(search(site, q="animal"))
    assert ids_of(search(site, q="-")) == ids_of(search(site))  # browsing
    assert search(site, q='animal -"cat').get("excluded") == ["cat"]  # unclosed: to the end


def test_a_not_tag_that_normalises_to_nothing_is_ignored(site: TestClient) -> None:
    assert ids_of(search(site, q="animal", not_tag="_")) == ids_of(search(site, q="animal"))


def test_the_first_hit_says_why_it_matched(site: TestClient) -> None:
    body = search(site, q="dog on a lawn")
    first = body["hits"][0]
    assert first["filename"] == "dog.jpg"
    why = first["why"]
    assert why["views"] and all(0 < v["share"] <= 1 for v in why["views"])
    assert sum(v["share"] for v in why["views"]) <= 1.0001
    assert {v["view"] for v in why["views"]} <= {"dense", "focus", "labels", "sparse", "image"}
    assert why["words"] == ["dog", "lawn"]  # stop words ("on", "a") are no match
    assert set(why["tags"]) == {"dog", "lawn"}
    assert why["sentence"] == "A dog on a lawn."
    assert [why["sentence"][a:b] for a, b in why["marks"]] == ["dog", "lawn"]
    # browsing has no query to explain
    assert all(hit.get("why") is None for hit in search(site)["hits"])


def test_why_is_in_the_openapi_document(site: TestClient) -> None:
    document = site.app.openapi_schema.to_schema()
    why = next(s for name, s in document["components"]["schemas"].items() if name.endswith("Why"))
    assert {"views", "words", "tags", "sentence", "marks"} <= set(why["properties"])
    assert all(why["properties"][name].get("description") for name in ("words", "tags", "sentence", "marks"))
    parameters = document["paths"]["/api/search"]["get"]["parameters"]
    assert "not_tag" in {p["name"] for p in parameters}


# --- the search page -------------------------------------------------------------------


def test_the_page_shows_each_exclusion_as_a_chip_that_removes_it(site: TestClient) -> None:
    page = site.get("/", params=[("q", 'animal -cat -"small animal"'), ("not_tag", "dog")])
    assert page.status_code == 200
    chips = dict(
        re.findall(r'<a class="chip not" href="([^"]*)"[^>]*>\s*<span[^>]*>[^<]*</span>([^<]*)<', page.text)
    )
    labels = {html.unescape(label).strip(): html.unescape(href) for href, label in chips.items()}
    assert labels == {
        "dog": "/?q=animal+-cat+-%22small+animal%22",
        "-cat": "/?q=animal+-%22small+animal%22&not_tag=dog",
        '-"small animal"': "/?q=animal+-cat&not_tag=dog",
    }
    assert '<input type="hidden" name="not_tag" value="dog">' in page.text
    for name in ("cat.jpg", "kittens.jpg", "sign.jpg", "dog.jpg", "bird.jpg"):
        assert f">{name}</a>" not in page.text
    # following a chip's link brings its images back
    assert ">dog.jpg</a>" in site.get(labels["dog"]).text


def test_tag_chips_keep_the_exclusions_and_offer_to_leave_a_tag_out(site: TestClient) -> None:
    page = site.get("/", params=[("not_tag", "cat")])
    hrefs = [html.unescape(h) for h in re.findall(r'<a class="chip" href="([^"]*)"', page.text)]
    assert hrefs and all(h.endswith("not_tag=cat") for h in hrefs)
    leave_out = [html.unescape(h) for h in re.findall(r'<a class="chip-not" href="([^"]*)"', page.text)]
    assert "/?not_tag=cat&not_tag=dog" in leave_out
    assert ">dog.jpg</a>" not in site.get("/?not_tag=cat&not_tag=dog").text


def test_the_page_explains_each_hit_on_demand_and_escapes_it(site: TestClient) -> None:
    page = site.get("/", params={"q": "dog alert script"}).text
    assert page.count('<details class="why">') == page.count('class="card')
    card = page[page.index(">hostile.jpg</a>") :]
    card = card[: card.index("</details>")]
    assert "<script>" not in page and "&lt;script&gt;" in card
    assert "<mark>alert</mark>" in card and "<mark>dog</mark>" in card
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert re.search(r'<summary title="Found by [^"]*matched dog, alert, script', card)


def test_a_browsing_page_has_no_why(site: TestClient) -> None:
    assert '<details class="why">' not in site.get("/").text


# --- the CLI through a running server --------------------------------------------------


class _Server(BaseHTTPRequestHandler):
    asked: list[dict[str, list[str]]] = []  # noqa: RUF012 - the requests the CLI sent

    def do_GET(self) -> None:
        self.asked.append(parse_qs(urlparse(self.path).query))
        hit = {"id": "1", "path": "dog.jpg", "filename": "dog.jpg", "score": 0.9, "description": "A dog.",
               "tags": ["dog"], "paths": ["dog.jpg"], "alt": "", "width": 4, "height": 3,
               "why": {"views": [{"view": "dense", "share": 0.8}], "words": ["dog"], "tags": ["dog"],
                       "sentence": "A dog.", "marks": [[2, 5]]}}  # fmt: skip
        body = json.dumps({"hits": [hit]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_imgdesc_search_not_tag_goes_to_the_running_server(tmp_path: Path) -> None:
    from app.cli import cli
    from catalog.store.edge import claim_lock, release_claim

    data = tmp_path / "data"
    held = claim_lock(data / "qdrant")  # as a running server holds it
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"IMGDESC_PORT": str(server.server_address[1]), "IMGDESC_HOST": "127.0.0.1"}
        args = ["search", "animal -cat", "--not-tag", "bird", "-T", "fish", "--json", "--data-dir", str(data)]
        result = CliRunner().invoke(cli, args, env=env)
    finally:
        server.shutdown()
        release_claim(held)
    assert result.exit_code == 0, result.output
    (asked,) = _Server.asked
    assert asked["q"] == ["animal -cat"] and asked["not_tag"] == ["bird", "fish"]
    body = json.loads(result.stdout)
    assert body["not_tags"] == ["bird", "fish"] and body["hits"][0]["why"]["words"] == ["dog"]
