"""People's edits through the server (issue 23, part 1): PATCH /api/images/{id}, the bulk
POST /api/images/tags, and the editor on the pages, over a watched folder with the
model-free describer, the hash embedder and a real embedded store (so a restart finds
what was stored, and the sparse view weighs words as Qdrant does).

What is shown: the record says what the person and the machine said; search sees an edit
at once (an unusual word ranks the image first, an added tag filters, a removed one no
longer does); edits survive a restart, a re-embedding, a rebuilt store and journal, a
new description, moves and copies, and move to the new bytes of a replaced file; bad
input is a 4xx that changes nothing."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from app.config import Settings, load_settings
from app.server import create_app
from app.services import Services
from catalog.store.base import point_id
from catalog.store.edge import EdgeStore
from tests.fake_app import BASE_URL, fake_build
from tests.fakes import CALLS, HashEmbedder, fake_analyzers, image_bytes, write_images
from tests.waiting import wait_for

DIM = 64
SAME_ORIGIN = {"Origin": BASE_URL}
HTMX = {"HX-Request": "true"}
WORD = "quokkaroo"  # in no machine description: only the person's text has it
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

Json = dict[str, Any]


@pytest.fixture(scope="module", autouse=True)
def fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


def build(images: Path, embedding_model: str) -> Callable[[Settings], Services]:
    """The fakes in place of the models, over an embedded store in the data folder."""
    return fake_build(
        images,
        embedder=lambda: HashEmbedder(embedding_model, dim=DIM),
        store=lambda settings: EdgeStore.open(Path(settings.data_dir) / "qdrant", DIM),
    )


@contextlib.contextmanager
def site(base: Path, embedding_model: str = "fake-embed") -> Iterator[TestClient]:
    """The server over base/images with its data in base/data; settled when it is yielded."""
    images = base / "images"
    settings = load_settings({"watch": str(images), "data_dir": str(base / "data")}, environ={})
    with TestClient(create_app(settings, build(images, embedding_model)), base_url=BASE_URL) as client:
        wait_for(lambda: client.get("/api/health").status_code == 200)
        settled(client, len(list(images.iterdir())))
        yield client


def settled(client: TestClient, files: int) -> None:
    def done() -> bool:
        status = client.get("/api/index/status").json()
        return bool(status["ready"] and status["pending"] == 0 and status["indexed"] == files)

    wait_for(done)


def id_of(client: TestClient, filename: str) -> str:
    hits = client.get("/api/search", params={"limit": 100}).json()["hits"]
    return next(str(h["id"]) for h in hits if filename in h["paths"])


def ids(client: TestClient, **params: Any) -> list[str]:
    return [h["id"] for h in client.get("/api/search", params={"limit": 100, **params}).json()["hits"]]


def record(client: TestClient, image_id: str) -> Json:
    response = client.get(f"/api/images/{image_id}")
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    write_images(tmp_path / "images", 3)
    return tmp_path


# --- the REST API ---------------------------------------------------------------------------


def test_an_edit_shows_in_the_record_and_in_search_at_once_and_survives_a_restart(base: Path) -> None:
    """The issue's check: add brand-x, remove the first machine tag, set a description with
    an unusual word; the machine's words stay; search, filters and facets see it; a restart
    and a new embedding model (every point re-embedded) keep it."""
    with site(base) as client:
        image_id = id_of(client, "img000.png")
        machine = record(client, image_id)
        first = machine["tags"][0]
        change = {"add_tags": ["Brand-X"], "remove_tags": [first], "description": f"A {WORD} by the gate."}
        answer = client.patch(f"/api/images/{image_id}", json=change)
        assert answer.status_code == 200, answer.text
        edited = answer.json()
        assert edited["tags"] == [*machine["tags"][1:], "brand-x"]
        assert {"name": "brand-x", "source": "user", "score": 1.0} in edited["tag_details"]
        assert first not in [t["name"] for t in edited["tag_details"]]
        assert edited["description"] == f"A {WORD} by the gate."
        assert edited["machine_description"] == machine["description"]
        assert edited["machine_tags"] == machine["tags"]
        edit = edited["edit"]
        assert edit["edited_by"] is None and ISO_UTC.match(edit["edited_at"]) and edit["carried_from"] == ""
        assert (edit["add_tags"], edit["remove_tags"], edit["description"]) == (
            ["brand-x"],
            [first],
            f"A {WORD} by the gate.",
        )
        assert record(client, image_id) == edited

        def sees_the_edit(client: TestClient) -> None:
            assert ids(client, q=WORD)[0] == image_id
            assert ids(client, tag="brand-x") == [image_id]
            assert image_id not in ids(client, tag=first)
            assert {"tag": "brand-x", "count": 1} in client.get("/api/tags").json()

        sees_the_edit(client)
    with site(base) as client:
        assert record(client, image_id) == edited
        sees_the_edit(client)
    with site(base, embedding_model="another-embed") as client:  # every point re-embedded
        again = record(client, image_id)
        assert again["embedding_model"] == "another-embed" and again["edit"] == edited["edit"]
        assert again["tags"] == edited["tags"] and again["description"] == edited["description"]
        sees_the_edit(client)


def test_a_new_description_and_a_rebuilt_store_keep_the_edits(base: Path) -> None:
    with site(base) as client:
        image_id = id_of(client, "img001.png")
        client.patch(f"/api/images/{image_id}", json={"add_tags": ["kept"], "description": "Mine."})
        before = record(client, image_id)
    # the store and the journal moved aside (a damaged one is): everything is described again
    data = base / "data"
    shutil.rmtree(data / "qdrant")
    for journal in data.glob("index.sqlite*"):
        journal.unlink()
    CALLS.clear()
    with site(base) as client:
        after = record(client, image_id)
        assert CALLS["fake-colours"] == 3  # described again, all three
        assert (after["tags"], after["description"], after["edit"]) == (
            before["tags"],
            "Mine.",
            before["edit"],
        )
        # every file gone: the point goes, the edit stays; the bytes back: described again, edit on
        kept = (base / "images" / "img001.png").read_bytes()
        (base / "images" / "img001.png").unlink()
        wait_for(lambda: client.get(f"/api/images/{image_id}").status_code == 404)
        (base / "images" / "back.png").write_bytes(kept)
        wait_for(lambda: client.get(f"/api/images/{image_id}").status_code == 200)
        back = record(client, image_id)
        assert back["paths"] == ["back.png"] and back["description"] == "Mine." and "kept" in back["tags"]


def test_edits_follow_the_content_through_copies_and_moves(base: Path) -> None:
    images = base / "images"
    with site(base) as client:
        image_id = id_of(client, "img002.png")
        edit = client.patch(f"/api/images/{image_id}", json={"add_tags": ["wanderer"]}).json()["edit"]
        shutil.copy(images / "img002.png", images / "copy.png")
        (images / "img002.png").rename(images / "moved.png")
        wait_for(lambda: record(client, image_id)["paths"] == ["copy.png", "moved.png"])
        moved = record(client, image_id)
        assert moved["edit"] == edit and "wanderer" in moved["tags"]
        assert ids(client, tag="wanderer") == [image_id]


def test_new_bytes_at_an_edited_path_take_over_its_edits(base: Path) -> None:
    path = base / "images" / "img000.png"
    with site(base) as client:
        old_id = id_of(client, "img000.png")
        old_sha = record(client, old_id)["sha256"]
        client.patch(f"/api/images/{old_id}", json={"add_tags": ["brand-x"], "description": "Ours."})
        path.write_bytes(image_bytes(99))  # the same file, edited in another program
        wait_for(lambda: client.get(f"/api/images/{old_id}").status_code == 404)
        settled(client, 3)
        new_id = id_of(client, "img000.png")
        carried = record(client, new_id)
        assert new_id != old_id and carried["sha256"] != old_sha
        assert carried["edit"]["carried_from"] == old_sha
        assert carried["description"] == "Ours." and "brand-x" in carried["tags"]
        assert carried["machine_description"] != "Ours."
        assert ids(client, tag="brand-x") == [new_id]


def test_a_tag_added_to_and_taken_off_many_images(base: Path) -> None:
    with site(base) as client:
        every = ids(client)
        added = client.post("/api/images/tags", json={"ids": every, "add": ["Set A"]})
        assert added.status_code == 200, added.text
        assert added.json()["images"] == 3 and sorted(added.json()["changed"]) == sorted(every)
        assert sorted(ids(client, tag="set a")) == sorted(every)
        again = client.post("/api/images/tags", json={"ids": every, "add": ["set a"]}).json()
        assert again == {"images": 3, "changed": []}  # nothing new
        taken = client.post("/api/images/tags", json={"ids": every[:1], "remove": ["set a"]}).json()
        assert taken == {"images": 1, "changed": every[:1]}
        assert sorted(ids(client, tag="set a")) == sorted(every[1:])
        # an unknown id: 404, and no image changed
        unknown = point_id("f" * 64)
        refused = client.post("/api/images/tags", json={"ids": [every[1], unknown], "add": ["never"]})
        assert refused.status_code == 404 and unknown in refused.json()["error"]
        assert ids(client, tag="never") == []
        assert client.post("/api/images/tags", json={"ids": ["nope"], "add": ["x"]}).status_code == 404


def test_edits_at_the_same_time_lose_nothing(base: Path) -> None:
    """Twenty people tag one image at once while the indexer writes a new file: each
    merge reads the edit the one before wrote (one lock), so every tag stays."""
    tags = [f"person-{n:02d}" for n in range(20)]
    with site(base) as client:
        image_id = id_of(client, "img000.png")
        write_images(base / "images", 1, start=3)  # the indexer at work meanwhile
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda t: client.patch(f"/api/images/{image_id}", json={"add_tags": [t]}), tags)
            )
        assert [a.status_code for a in answers] == [200] * len(tags)
        settled(client, 4)
        assert sorted(record(client, image_id)["edit"]["add_tags"]) == tags
        assert set(tags) <= set(record(client, image_id)["tags"])
        assert all(ids(client, tag=t) == [image_id] for t in tags[:3])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"add_tags": ["_ _"]}, "matching regex"),
        ({"add_tags": ["x" * 65]}, "length <= 64"),
        ({"add_tags": [3]}, "Expected `str`"),
        ({"add_tags": "brand-x"}, "Expected `array`"),
        ({"description": "y" * 5001}, "length <= 5000"),
        ({"description": 5}, "Expected `str | null`"),
        ({"colour": "red"}, "unknown field `colour`"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(base: Path, body: Json, says: str) -> None:
    with site(base) as client:
        image_id = id_of(client, "img000.png")
        before = record(client, image_id)
        refused = client.patch(f"/api/images/{image_id}", json=body)
        assert refused.status_code == 400 and says in refused.text, refused.text
        assert set(refused.json()) == {"error", "detail"}
        assert record(client, image_id) == before and before["edit"] is None
        missing = client.patch(f"/api/images/{point_id('f' * 64)}", json={"add_tags": ["x"]})
        assert missing.status_code == 404 and "no image with id" in missing.json()["error"]
        assert client.patch("/api/images/not-an-id", json={}).status_code == 404
        assert not (base / "data" / "edits.sqlite").exists() or _no_edits(client)


def _no_edits(client: TestClient) -> bool:
    services: Services = client.app.state["runtime"].services
    return len(services.curator.edits) == 0


def test_a_blank_description_or_null_goes_back_to_the_machines_text(base: Path) -> None:
    with site(base) as client:
        image_id = id_of(client, "img000.png")
        machine = record(client, image_id)["description"]
        client.patch(f"/api/images/{image_id}", json={"description": "Mine."})
        for back in (None, "   "):
            client.patch(f"/api/images/{image_id}", json={"description": "Mine."})
            answer = client.patch(f"/api/images/{image_id}", json={"description": back}).json()
            assert answer["description"] == machine and answer["edit"]["description"] is None


# --- the pages ------------------------------------------------------------------------------


def test_the_image_page_edits_tags_and_description_without_javascript(base: Path) -> None:
    with site(base) as client:
        image_id = id_of(client, "img000.png")
        first = record(client, image_id)["tags"][0]
        page = client.get(f"/images/{image_id}").text
        assert 'id="editor"' in page and '<datalist id="known-tags">' in page
        assert f'<option value="{first}">' in page  # suggestions: the catalog's tags
        assert f'name="remove" value="{first}"' in page

        def post(**form: str) -> Any:
            url = f"/images/{image_id}/edit"
            return client.post(url, data=form, headers=SAME_ORIGIN, follow_redirects=False)

        added = post(add="Brand X")
        assert added.status_code == 303 and added.headers["location"] == f"/images/{image_id}"
        assert '<li class="chip user" title="Added by a person">' in client.get(f"/images/{image_id}").text
        assert post(remove=first).status_code == 303
        assert post(description=f"A {WORD}.").status_code == 303
        page = client.get(f"/images/{image_id}").text
        assert f'name="remove" value="{first}"' not in page and "The machine said:" in page
        assert f"A {WORD}.</textarea>" in page and "Back to machine text" in page
        assert ids(client, q=WORD)[0] == image_id
        assert post(machine="1").status_code == 303
        assert record(client, image_id)["edit"]["description"] is None
        # a bad tag: the page again, the editor saying why, nothing changed
        before = record(client, image_id)
        refused = post(add="___")
        assert refused.status_code == 400 and "empty once normalised" in refused.text
        assert 'id="editor"' in refused.text and record(client, image_id) == before
        # from another site's page: refused by the same-origin guard
        foreign = client.post(
            f"/images/{image_id}/edit", data={"add": "evil"}, headers={"Origin": "http://evil.example"}
        )
        assert foreign.status_code == 403 and record(client, image_id) == before


def test_with_htmx_the_editor_answers_only_itself(base: Path) -> None:
    with site(base) as client:
        image_id = id_of(client, "img000.png")
        headers = {**SAME_ORIGIN, **HTMX, "HX-Target": "editor"}
        answer = client.post(f"/images/{image_id}/edit", data={"add": "brand-x"}, headers=headers)
        assert answer.status_code == 200 and answer.text.lstrip().startswith('<section id="editor"')
        assert "<html" not in answer.text and 'value="brand-x"' in answer.text
        refused = client.post(f"/images/{image_id}/edit", data={"add": "x" * 65}, headers=headers)
        assert refused.status_code == 400 and 'class="error"' in refused.text and "<html" not in refused.text


def test_the_search_page_tags_the_ticked_images(base: Path) -> None:
    with site(base) as client:
        every = ids(client)
        page = client.get("/").text
        assert '<form id="bulk" method="post" action="/bulk-tags"' in page
        ticks = re.findall(r'<input type="checkbox" name="id" value="([^"]+)" form="bulk" checked>', page)
        assert sorted(ticks) == sorted(every)  # browsing: every image, ticked
        plain = client.post(
            "/bulk-tags",
            data={"id": every[:2], "bulk_tag": "Holiday", "action": "add"},
            headers={**SAME_ORIGIN, "Referer": f"{BASE_URL}/?tag=sky"},
            follow_redirects=False,
        )
        assert plain.status_code == 303 and plain.headers["location"] == "/?tag=sky"
        assert sorted(ids(client, tag="holiday")) == sorted(every[:2])
        # with htmx the search's own fields come along, and the results are the answer
        answer = client.post(
            "/bulk-tags",
            data={"id": every[:1], "bulk_tag": "holiday", "action": "remove", "tag": "holiday"},
            headers={**SAME_ORIGIN, **HTMX, "HX-Target": "results"},
        )
        assert answer.status_code == 200 and "<html" not in answer.text
        assert ids(client, tag="holiday") == [every[1]]
        assert answer.text.count('name="id"') == 1  # the results for tag=holiday, after the change
        empty = client.post("/bulk-tags", data={"bulk_tag": "x", "action": "add"}, headers=SAME_ORIGIN)
        assert empty.status_code == 400 and "Tick the images" in empty.text
