"""People's edits without a server: the patch rules (catalog/edits.py), the one `apply`
rule, the EditStore file, the encoder that writes every point with its edit, and the
Curator, including an indexer write that lands between an edit and its upsert."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest

from catalog.curate import CuratedEncoder, Curator, UnknownImageError
from catalog.edits import (
    MAX_DESCRIPTION,
    MAX_TAG,
    USER_SOURCE,
    EditError,
    EditsDamagedError,
    EditStore,
    Patch,
    apply,
    clean_patch,
    merged,
)
from catalog.points import PointEncoder, document_text, focus_text
from catalog.store.base import Edit, StoredImage, point_id
from describe.facts import Label, Tag
from tests.fakes import FakeStore, HashEmbedder

SHA = "a" * 64
OTHER = "b" * 64


def record(sha: str = SHA) -> StoredImage:
    """A payload as the describer writes it: machine text and tags, with their details."""
    tags = ["dog", "grass", "red"]
    return StoredImage(
        sha256=sha,
        paths=[f"{sha[:4]}.jpg"],
        filename=f"{sha[:4]}.jpg",
        description="A dog on grass.",
        caption="a dog on grass",
        tags=tags,
        tag_details=[Tag("dog", "labels", 0.8), Tag("grass", "scene", 0.5), Tag("red", "colours", 0.4)],
        labels=[Label("dog", 0.8, "animal", hypernyms=("canine",)), Label("lawn", 0.3, "other")],
        machine_description="A dog on grass.",
        machine_tags=tags,
    )


# --- the patch ----------------------------------------------------------------------------


def test_a_patch_is_normalised_as_the_describer_normalises_tags() -> None:
    clean = clean_patch(Patch(add_tags=[" Brand X ", "Dogs", "brand x"], description="  kept  "))
    assert clean.add_tags == ["brand x", "dog"] and clean.description == "kept"
    assert clean_patch(Patch(description="   ")).description is None  # blank: back to the machine's
    assert clean_patch(Patch()).description is msgspec.UNSET  # not sent: left as it is


def test_a_bad_patch_names_every_bad_item() -> None:
    with pytest.raises(EditError) as caught:
        clean_patch(Patch(add_tags=["_ _", "x" * (MAX_TAG + 1)], description="y" * (MAX_DESCRIPTION + 1)))
    assert caught.value.status_code == 400
    problems = caught.value.detail["problems"]  # type: ignore[index]
    assert len(problems) == 3
    assert "empty once normalised" in problems[0] and f"over the {MAX_TAG} limit" in problems[1]
    assert f"over the {MAX_DESCRIPTION} limit" in problems[2]
    # the limit counts what is left after stripping
    assert clean_patch(Patch(add_tags=["  " + "x" * MAX_TAG + "  "])).add_tags == ["x" * MAX_TAG]


def test_adding_takes_a_tag_off_the_removed_and_removing_off_the_added() -> None:
    said = ["dog", "grass"]
    edit = merged(None, Patch(add_tags=["brand-x"], remove_tags=["dog"]), said)
    assert edit is not None and edit.add_tags == ["brand-x"] and edit.remove_tags == ["dog"]
    assert edit.edited_at and edit.edited_by is None
    again = merged(edit, Patch(add_tags=["dog"], remove_tags=["brand-x"]), said)
    assert again is not None and again.add_tags == ["dog"] and again.remove_tags == []
    # a tag the machine never said is only taken off the added ones, never remembered as removed
    assert merged(edit, Patch(remove_tags=["brand-x", "cat"]), said).remove_tags == ["dog"]  # type: ignore[union-attr]


def test_a_patch_that_changes_nothing_writes_nothing() -> None:
    assert merged(None, Patch(), ["dog"]) is None
    assert merged(None, Patch(description=None, remove_tags=["cat"]), ["dog"]) is None
    edit = merged(None, Patch(description="mine"), ["dog"])
    assert merged(edit, Patch(description="mine"), ["dog"]) is edit
    assert merged(edit, Patch(), ["dog"]) is edit
    back = merged(edit, Patch(description=None), ["dog"])
    assert back is not None and back.description is None


# --- apply ----------------------------------------------------------------------------------


def test_apply_shows_the_person_and_keeps_the_machine() -> None:
    edit = Edit(description="A zorblax.", add_tags=["brand-x"], remove_tags=["dog"], edited_at="t")
    seen = apply(record(), edit)
    assert seen.description == "A zorblax." and seen.tags == ["grass", "red", "brand-x"]
    assert seen.tag_details == [
        Tag("grass", "scene", 0.5),
        Tag("red", "colours", 0.4),
        Tag("brand-x", USER_SOURCE, 1.0),
    ]
    assert seen.machine_description == "A dog on grass." and seen.machine_tags == ["dog", "grass", "red"]
    assert seen.edit == edit
    # from the edited record: the same answer (it starts from the machine's fields)
    assert apply(seen, edit) == seen
    # and without the edit, the machine's record again (its removed tag's details too)
    assert apply(seen, None).tags == ["dog", "grass", "red"]
    assert apply(seen, None).description == "A dog on grass." and apply(seen, None).edit is None


def test_apply_to_a_payload_from_before_edits_existed() -> None:
    old = msgspec.structs.replace(record(), machine_description="", machine_tags=[], tag_details=[])
    seen = apply(old, Edit(add_tags=["brand-x"], remove_tags=["red"]))
    assert seen.machine_tags == ["dog", "grass", "red"] and seen.machine_description == "A dog on grass."
    assert seen.tags == ["dog", "grass", "brand-x"]
    # the machine's tags had no details then: only the person's tag has one
    assert seen.tag_details == [Tag("brand-x", USER_SOURCE, 1.0)]


# --- the EditStore --------------------------------------------------------------------------


def test_edits_are_kept_in_their_own_file_across_reopening(tmp_path: Path) -> None:
    edits = EditStore(tmp_path)
    held = edits.merge(SHA, Patch(add_tags=["brand-x"], description="mine"), ["dog"])
    edits.close()
    again = EditStore(tmp_path)
    assert (tmp_path / "edits.sqlite").is_file() and not (tmp_path / "index.sqlite").exists()
    assert again.get(SHA) == held and again.get(OTHER) is None and len(again) == 1
    again.close()


def test_new_bytes_at_a_path_take_the_old_contents_edit(tmp_path: Path) -> None:
    edits = EditStore(tmp_path)
    made = edits.merge(SHA, Patch(add_tags=["brand-x"]), [])
    carried = edits.carry(SHA, OTHER)
    assert carried is not None and carried.add_tags == ["brand-x"] and carried.carried_from == SHA
    assert edits.get(SHA) == made  # copied, not moved: the old bytes may live elsewhere too
    # a content with edits of its own keeps them
    third = "c" * 64
    own = edits.merge(third, Patch(add_tags=["mine"]), [])
    assert edits.carry(SHA, third) == own and edits.carry("d" * 64, "e" * 64) is None
    edits.close()


def test_a_damaged_edits_file_is_an_error_that_names_it(tmp_path: Path) -> None:
    (tmp_path / "edits.sqlite").write_bytes(b"not a database, " * 512)
    with pytest.raises(EditsDamagedError) as caught:
        EditStore(tmp_path)
    assert str(tmp_path / "edits.sqlite") in caught.value.message and "not rebuilt" in caught.value.message


# --- points and the Curator -----------------------------------------------------------------


def test_the_views_say_what_the_person_said(tmp_path: Path) -> None:
    edits = EditStore(tmp_path)
    plain = PointEncoder(HashEmbedder()).point(point_id(SHA), record())
    # no edit: exactly the point the plain encoder writes
    assert CuratedEncoder(HashEmbedder(), edits).point(point_id(SHA), record()) == plain
    edits.merge(SHA, Patch(add_tags=["brand-x"], remove_tags=["dog"], description="A zorblax."), ["dog"])
    point = CuratedEncoder(HashEmbedder(), edits).point(point_id(SHA), record())
    document, focus = document_text(point.payload), focus_text(point.payload)
    assert document.startswith("A zorblax.") and "brand-x" in document
    # a removed tag leaves the labels too, with its ancestors; the other labels stay
    assert "dog" not in document and "canine" not in document and "Labels: lawn" in document
    assert "brand-x" in focus and "dog" not in focus
    assert point.labels != plain.labels and point.sparse != plain.sparse
    edits.close()


def stored(tmp_path: Path) -> tuple[FakeStore, Curator]:
    store, edits = FakeStore(), EditStore(tmp_path)
    encoder = CuratedEncoder(HashEmbedder(), edits)
    store.upsert([msgspec.structs.replace(encoder.point(point_id(SHA), record(), [0.5, 0.5]))])
    store.upsert([encoder.point(point_id(OTHER), record(OTHER))])
    return store, Curator(store, encoder)


def test_the_curator_writes_the_edit_first_and_keeps_the_image_vector(tmp_path: Path) -> None:
    store, curator = stored(tmp_path)
    seen = curator.edit(point_id(SHA), Patch(add_tags=["Brand-X"]))
    assert seen.tags == ["dog", "grass", "red", "brand-x"] and curator.edits.get(SHA) == seen.edit
    point = store.points[point_id(SHA)]
    assert point.payload == seen and point.image == [0.5, 0.5]
    before = store.upserts
    curator.edit(point_id(SHA), Patch(add_tags=["brand-x"]))  # nothing new: no write
    assert store.upserts == before


def test_a_bulk_change_with_an_unknown_id_changes_nothing(tmp_path: Path) -> None:
    store, curator = stored(tmp_path)
    with pytest.raises(UnknownImageError) as caught:
        curator.edit_many([point_id(SHA), point_id("f" * 64)], Patch(add_tags=["set-a"]))
    assert caught.value.status_code == 404 and len(curator.edits) == 0
    assert "set-a" not in store.points[point_id(SHA)].payload.tags
    with pytest.raises(EditError):  # a bad tag: checked before anything is written too
        curator.edit_many([point_id(SHA)], Patch(add_tags=["_"]))
    assert len(curator.edits) == 0
    done = curator.edit_many([point_id(SHA), point_id(OTHER)], Patch(add_tags=["set-a"]))
    assert sorted(done.changed) == sorted([point_id(SHA), point_id(OTHER)])
    assert all("set-a" in p.payload.tags for p in store.points.values())


def test_an_indexer_write_that_lands_after_an_edit_is_settled(tmp_path: Path) -> None:
    """The indexer encodes a point, a person's edit comes in and is written, and only then
    does the indexer's upsert land with the old edit: settle() puts the edit back."""
    store, curator = stored(tmp_path)
    late = curator.encoder.point(point_id(SHA), record())  # encoded before the edit
    curator.edit(point_id(SHA), Patch(description="A zorblax."))
    store.upsert([late])
    assert store.points[point_id(SHA)].payload.description == "A dog on grass."
    assert curator.settle(SHA) is True
    assert store.points[point_id(SHA)].payload.description == "A zorblax."
    assert curator.settle(SHA) is False and curator.settle("f" * 64) is False


def test_edits_file_is_sqlite_with_one_row_per_content(tmp_path: Path) -> None:
    edits = EditStore(tmp_path)
    edits.merge(SHA, Patch(add_tags=["x"]), [])
    edits.merge(SHA, Patch(add_tags=["y"]), [])
    edits.close()
    with sqlite3.connect(tmp_path / "edits.sqlite") as db:
        rows = db.execute("SELECT sha256, edit FROM edits").fetchall()
    assert [sha for sha, _ in rows] == [SHA]
    assert msgspec.json.decode(rows[0][1], type=Edit).add_tags == ["x", "y"]
