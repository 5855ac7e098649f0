"""More like this, near-duplicates and collapse through the server (issue 24, parts 1-2),
over a watched folder holding real photos and a near copy of one of them (70 % size,
cropped 5 %, JPEG quality 60, 10 % brighter), with the model-free describer.

The issue's checks: similar puts the near copy first and leaves out the image itself;
/api/duplicates has exactly one group, holding those two; the image page shows the copy;
the /duplicates page lists the group. Then people's decisions: reviewed, hidden from
search (and back), kept across a restart; collapse folds the copy into one hit; bad input
is a 4xx."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient
from PIL import Image, ImageEnhance

from tests.fake_app import BASE_URL, fake_site
from tests.fakes import fake_analyzers
from tests.waiting import wait_for

SAME_ORIGIN = {"Origin": BASE_URL}
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")
UNKNOWN = "00000000-0000-0000-0000-000000000000"
Json = dict[str, Any]


def near_copy(image: Image.Image) -> bytes:
    """The issue's copy: 70 % size, 5 % cropped (at one side), JPEG quality 60, 10 % brighter."""
    small = image.resize((round(image.width * 0.7), round(image.height * 0.7)), Image.Resampling.LANCZOS)
    cropped = small.crop((0, 0, round(small.width * 0.95), round(small.height * 0.95)))
    buffer = io.BytesIO()
    ImageEnhance.Brightness(cropped).enhance(1.1).save(buffer, "JPEG", quality=60)
    return buffer.getvalue()


@pytest.fixture(scope="module", autouse=True)
def fakes() -> Iterator[None]:
    with fake_analyzers():
        yield


@pytest.fixture()
def base(tmp_path: Path, photos: dict[str, np.ndarray]) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    for name in PHOTOS:
        Image.fromarray(photos[name]).convert("RGB").save(images / f"{name}.jpg", quality=92)
    (images / "chelsea-copy.jpg").write_bytes(near_copy(Image.open(images / "chelsea.jpg").convert("RGB")))
    return tmp_path


def settled(client: TestClient, files: int) -> None:
    def done() -> bool:
        status = client.get("/api/index/status").json()
        return bool(status["ready"] and status["pending"] == 0 and status["indexed"] == files)

    wait_for(done)


def ids_by_name(client: TestClient) -> dict[str, str]:
    hits = client.get("/api/search", params={"limit": 100}).json()["hits"]
    return {h["filename"]: h["id"] for h in hits}


def json_of(response: Any) -> Json:
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


@pytest.fixture()
def client(base: Path) -> Iterator[TestClient]:
    with fake_site(base, base / "images") as client:
        settled(client, len(PHOTOS) + 1)
        yield client


def test_similar_puts_the_near_copy_first_and_leaves_out_the_image(client: TestClient) -> None:
    ids = ids_by_name(client)
    body = json_of(client.get(f"/api/images/{ids['chelsea.jpg']}/similar", params={"limit": 10}))
    hits = [h["id"] for h in body["hits"]]
    assert body["id"] == ids["chelsea.jpg"]
    assert hits[0] == ids["chelsea-copy.jpg"] and ids["chelsea.jpg"] not in hits
    assert set(hits) == set(ids.values()) - {ids["chelsea.jpg"]}  # the search-hit shape, every other image
    assert {"id", "path", "filename", "score", "description", "tags", "width", "height"} <= set(
        body["hits"][0]
    )
    # the other way round too, and a limit
    back = json_of(client.get(f"/api/images/{ids['chelsea-copy.jpg']}/similar", params={"limit": 1}))
    assert [h["id"] for h in back["hits"]] == [ids["chelsea.jpg"]]


def test_duplicates_has_one_group_holding_the_two(client: TestClient) -> None:
    ids = ids_by_name(client)
    body = json_of(client.get("/api/duplicates"))
    assert body["complete"] is True
    [group] = body["groups"]
    assert group["kind"] == "near-duplicate" and group["reviewed"] is False
    members = {image["id"]: image for image in group["images"]}
    assert set(members) == {ids["chelsea.jpg"], ids["chelsea-copy.jpg"]}
    original = members[ids["chelsea.jpg"]]
    assert group["keeper"] == ids["chelsea.jpg"] and original["keeper"] is True  # the larger one
    assert group["images"][0]["id"] == group["keeper"]
    assert original["format"] == "JPEG" and original["width"] == 451 and original["size_bytes"] > 0
    assert original["date"].endswith("Z") and original["path"] == "chelsea.jpg"
    assert json_of(client.get("/api/duplicates", params={"kind": "variant"}))["groups"] == []


def test_a_group_marked_reviewed_stays_reviewed_across_a_restart(base: Path) -> None:
    with fake_site(base, base / "images") as client:
        settled(client, len(PHOTOS) + 1)
        ids = ids_by_name(client)
        pair = [ids["chelsea.jpg"], ids["chelsea-copy.jpg"]]
        answer = client.post(
            "/api/duplicates/review", json={"kind": "near-duplicate", "ids": pair}, headers=SAME_ORIGIN
        )
        assert json_of(answer) == {"ids": pair, "value": True}
        assert json_of(client.get("/api/duplicates", params={"reviewed": "false"}))["groups"] == []
    with fake_site(base, base / "images") as client:  # the fake store starts empty: all indexed again
        settled(client, len(PHOTOS) + 1)
        wait_for(lambda: len(json_of(client.get("/api/duplicates"))["groups"]) == 1)
        [group] = json_of(client.get("/api/duplicates", params={"reviewed": "true"}))["groups"]
        assert {i["id"] for i in group["images"]} == set(pair)


def test_a_hidden_image_leaves_search_and_similar_until_shown_again(client: TestClient) -> None:
    ids = ids_by_name(client)
    copy = ids["chelsea-copy.jpg"]
    hide = client.post("/api/images/hidden", json={"ids": [copy]}, headers=SAME_ORIGIN)
    assert json_of(hide) == {"ids": [copy], "value": True}
    assert copy not in ids_by_name(client).values()
    found = json_of(client.get("/api/search", params={"q": "test card", "limit": 100}))["hits"]
    assert copy not in [h["id"] for h in found] and len(found) == len(PHOTOS)
    similar = json_of(client.get(f"/api/images/{ids['chelsea.jpg']}/similar"))["hits"]
    assert copy not in [h["id"] for h in similar]
    [group] = json_of(client.get("/api/duplicates"))["groups"]  # still grouped, marked hidden
    assert {i["id"]: i["hidden"] for i in group["images"]} == {ids["chelsea.jpg"]: False, copy: True}
    assert json_of(client.get(f"/api/images/{copy}"))["filename"] == "chelsea-copy.jpg"  # never deleted
    client.post("/api/images/hidden", json={"ids": [copy], "hidden": False}, headers=SAME_ORIGIN)
    assert copy in ids_by_name(client).values()


def test_collapse_folds_the_copy_into_one_hit(client: TestClient) -> None:
    ids = ids_by_name(client)
    plain = json_of(client.get("/api/search", params={"q": "test card", "limit": 100}))["hits"]
    folded = json_of(client.get("/api/search", params={"q": "test card", "limit": 100, "collapse": "true"}))[
        "hits"
    ]
    pair = {ids["chelsea.jpg"], ids["chelsea-copy.jpg"]}
    assert len(plain) == len(PHOTOS) + 1 and all(h["collapsed"] == 0 for h in plain)
    assert len(folded) == len(PHOTOS)
    [kept] = [h for h in folded if h["id"] in pair]
    assert kept["collapsed"] == 1 and kept["id"] == next(h["id"] for h in plain if h["id"] in pair)
    assert all(h["collapsed"] == 0 for h in folded if h["id"] not in pair)
    browse = json_of(client.get("/api/search", params={"collapse": "true", "limit": 100}))["hits"]
    assert len(browse) == len(PHOTOS)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", f"/api/images/{UNKNOWN}/similar", None, 404),
        ("get", "/api/images/not-an-id/similar", None, 404),
        ("get", "/api/images/{id}/similar?limit=0", None, 400),
        ("get", "/api/duplicates?kind=twins", None, 400),
        ("post", "/api/duplicates/review", {"kind": "twins", "ids": ["{id}"]}, 400),
        ("post", "/api/duplicates/review", {"kind": "variant", "ids": []}, 400),
        ("post", "/api/duplicates/review", {"kind": "variant", "ids": [UNKNOWN]}, 404),
        ("post", "/api/images/hidden", {"ids": ["{id}"], "extra": 1}, 400),
        ("post", "/api/images/hidden", {"ids": [UNKNOWN, "{id}"]}, 404),
    ],
)
def test_bad_input_is_a_4xx_with_a_json_error(
    client: TestClient, method: str, path: str, body: Json | None, status: int
) -> None:
    image_id = ids_by_name(client)["coffee.jpg"]
    url = path.replace("{id}", image_id)
    if body is not None:
        body = {
            k: [i.replace("{id}", image_id) for i in v] if isinstance(v, list) else v for k, v in body.items()
        }
    response = getattr(client, method)(
        url, **({"json": body, "headers": SAME_ORIGIN} if body is not None else {})
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]
    assert json_of(client.get(f"/api/images/{image_id}"))["filename"] == "coffee.jpg"
    assert json_of(client.get("/api/duplicates"))["groups"][0]["reviewed"] is False  # nothing changed


# --- the pages ------------------------------------------------------------------------------


def test_the_image_page_shows_the_near_copy_in_its_similar_strip(client: TestClient) -> None:
    ids = ids_by_name(client)
    page = client.get(f"/images/{ids['chelsea.jpg']}")
    assert page.status_code == 200
    strip = page.text.split("Similar images", 1)[1].split("</section>", 1)[0]
    assert strip.index(f'href="/images/{ids["chelsea-copy.jpg"]}"') == strip.index('href="/images/')
    assert f'href="/images/{ids["chelsea.jpg"]}"' not in strip
    assert "1 near copy" in page.text


def test_the_duplicates_page_lists_the_group_and_takes_decisions_without_javascript(
    client: TestClient,
) -> None:
    ids = ids_by_name(client)
    page = client.get("/duplicates")
    assert page.status_code == 200 and "Duplicates &amp; variants" in page.text
    assert 'aria-current="page">Duplicates' in page.text
    for name in ("chelsea.jpg", "chelsea-copy.jpg"):
        assert f'href="/images/{ids[name]}"' in page.text
    assert "suggested keeper" in page.text and "JPEG" in page.text and "451 × 300 px" in page.text
    hide = client.post(
        "/duplicates/hide",
        data={"id": ids["chelsea-copy.jpg"], "hidden": "1"},
        headers={**SAME_ORIGIN, "Referer": f"{BASE_URL}/duplicates?kind=&shown=all"},
        follow_redirects=False,
    )
    assert hide.status_code == 303 and hide.headers["location"] == "/duplicates?kind=&shown=all"
    assert "hidden from search" in client.get("/duplicates").text
    review = client.post(
        "/duplicates/review",
        data={"id": [ids["chelsea.jpg"], ids["chelsea-copy.jpg"]], "kind": "near-duplicate", "reviewed": "1"},
        headers={**SAME_ORIGIN, "HX-Request": "true", "HX-Target": "groups"},
    )
    assert (
        review.status_code == 200 and "<html" not in review.text and "No groups left to review" in review.text
    )
    assert "Review again" in client.get("/duplicates", params={"shown": "reviewed"}).text


def test_the_search_page_folds_copies_and_can_show_each(client: TestClient) -> None:
    folded = client.get("/", params={"q": "test card"}).text
    assert folded.count('class="card') == len(PHOTOS) and "+1 variant<" in folded
    every = client.get("/", params={"q": "test card", "collapse": "0"}).text
    assert every.count('class="card') == len(PHOTOS) + 1 and "+1 variant" not in every


def test_one_prompt_run_with_other_seeds_is_a_variant_group(
    tmp_path: Path, photos: dict[str, np.ndarray]
) -> None:
    """Generated files carrying their parameters (A1111's PNG text chunk): the same prompt
    with seeds 1 and 2 is one variant group; a third file with another prompt is not in it."""
    from PIL.PngImagePlugin import PngInfo

    images = tmp_path / "images"
    images.mkdir()
    prompt = "a lighthouse on a cliff at dusk, oil painting"
    for name, seed, text, photo in (
        ("seed-1.png", 1, prompt, "astronaut"),
        ("seed-2.png", 2, prompt, "rocket"),
        ("other.png", 3, "a bowl of ramen", "coffee"),
    ):
        info = PngInfo()
        info.add_text("parameters", f"{text}\nNegative prompt: blurry\nSteps: 20, Seed: {seed}, Model: sdxl")
        Image.fromarray(photos[photo]).convert("RGB").resize((256, 256)).save(images / name, pnginfo=info)
    with fake_site(tmp_path, images) as client:
        settled(client, 3)
        ids = ids_by_name(client)
        [group] = json_of(client.get("/api/duplicates", params={"kind": "variant"}))["groups"]
        assert {i["id"] for i in group["images"]} == {ids["seed-1.png"], ids["seed-2.png"]}
        assert group["prompt"] == prompt and group["kind"] == "variant"
        assert json_of(client.get("/api/duplicates", params={"kind": "near-duplicate"}))["groups"] == []
        folded = json_of(client.get("/api/search", params={"collapse": "true"}))["hits"]
        assert sorted(h["collapsed"] for h in folded) == [0, 1]
