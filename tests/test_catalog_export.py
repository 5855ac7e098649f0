"""catalog/export/: the rows (CSV that a spreadsheet cannot run, JSON Lines), which
records an export holds, and XMP sidecars that exiftool reads, merged into the ones
already there and never written into an image."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import msgspec
import pytest
from fakes import FakeStore, HashEmbedder, image_bytes, make_description
from msgspec.structs import replace

from catalog.export.rows import (
    COLUMNS,
    ExportRecord,
    csv_chunks,
    export_row,
    jsonl_chunks,
    neutralise,
    record_chunks,
)
from catalog.export.select import all_records, ranked_records
from catalog.export.sidecars import Naming, sidecar_path, write_sidecars
from catalog.export.xmp import AI_SOURCE_TYPE, CREATOR_TOOL, NS, SidecarError, sidecar
from catalog.points import PointEncoder, stored_image
from catalog.store.base import Edit, StoredImage, point_id
from describe.facts import Colour, PromptCheck, Provenance, Tag


def record(
    name: str = "trip/cat.jpg",
    *,
    tags: list[str] | None = None,
    paths: list[str] | None = None,
    **changes: object,
) -> StoredImage:
    tags = ["cat", "sofa"] if tags is None else tags
    p = stored_image(
        make_description(f"a cat called {name}", tags=tags),
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        paths=paths or [name],
        width=640,
        height=480,
        described_at="2026-01-02T03:04:05Z",
    )
    details = [Tag(t, "objects", 0.9) for t in tags]
    return replace(p, tag_details=details, **changes)


def edited() -> StoredImage:
    """A record a person corrected: description replaced, a tag added, one removed."""
    p = record(tags=["cat", "sofa"])
    return replace(
        p,
        description="Mimi asleep on the red sofa",
        tags=["cat", "mimi"],
        tag_details=[Tag("cat", "objects", 0.93), Tag("mimi", "user")],
        edit=Edit(description="Mimi asleep on the red sofa", add_tags=["mimi"], remove_tags=["sofa"],
                  edited_at="2026-02-03T04:05:06Z"),
    )  # fmt: skip


# --- rows --------------------------------------------------------------------------------


def test_a_row_holds_the_effective_fields_and_the_machine_text_only_when_it_differs() -> None:
    plain = record(colors=[Colour("navy blue", "blue", "#1f2a44", 0.6)], text="EXIT")
    row = export_row("id-1", plain)
    assert (row.path, row.paths, row.id) == ("trip/cat.jpg", ["trip/cat.jpg"], "id-1")
    assert row.description == plain.description and row.machine_description == ""
    assert (row.tags, row.colours, row.text) == (["cat", "sofa"], ["navy blue"], "EXIT")
    assert (row.width, row.height, row.described_at) == (640, 480, "2026-01-02T03:04:05Z")
    assert (row.prompt, row.prompt_score, row.captioner) == ("", None, "classic")
    fixed = export_row("id-2", edited())
    assert fixed.description == "Mimi asleep on the red sofa"
    assert fixed.machine_description == "a cat called trip/cat.jpg The picture is horizontal."
    assert fixed.tags == ["cat", "mimi"]
    checked = record(prompt_check=PromptCheck(prompt="a cat on a sofa", source="file:a1111", score=0.5))
    assert (export_row("x", checked).prompt, export_row("x", checked).prompt_score) == (
        "a cat on a sofa",
        0.5,
    )


def test_one_row_per_image_with_every_path_listed() -> None:
    row = export_row("id", record(paths=["a/one.jpg", "b/copy of one.jpg"]))
    assert row.path == "a/one.jpg" and row.paths == ["a/one.jpg", "b/copy of one.jpg"]


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_cells_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert neutralise("plain " + cell) == "plain " + cell


def test_csv_is_rfc_4180_with_a_header_and_reads_back() -> None:
    tricky = record(
        "=cmd|' /C calc'!A0.jpg",
        tags=["-dash", "cat"],
        text='A "quoted", multi\nline sign',
        prompt_check=PromptCheck(prompt="@mention", source="caller", score=0.25),
    )
    text = "".join(csv_chunks([export_row("id-1", tricky), export_row("id-2", record("b.jpg"))]))
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "").replace("multi\nline", "")
    header, first, second = list(csv.reader(io.StringIO(text, newline="")))
    assert header == list(COLUMNS)
    cells = dict(zip(header, first, strict=True))
    assert cells["path"] == "'=cmd|' /C calc'!A0.jpg"  # no spreadsheet runs it
    assert cells["tags"] == "'-dash; cat"
    assert cells["text"] == 'A "quoted", multi\nline sign'
    assert cells["prompt"] == "'@mention" and cells["prompt_score"] == "0.25"
    assert (cells["width"], cells["height"]) == ("640", "480")  # numbers stay numbers
    assert dict(zip(header, second, strict=True))["prompt_score"] == ""


def test_rows_come_in_chunks_and_the_chunks_add_up_to_the_whole() -> None:
    rows = [export_row(f"id-{i}", record(f"img{i}.jpg")) for i in range(10)]
    chunks = list(csv_chunks(rows, rows_per_chunk=4))
    assert len(chunks) == 3  # header + 4, 4, 2
    assert "".join(chunks) == "".join(csv_chunks(rows))
    lines = b"".join(jsonl_chunks(rows, rows_per_chunk=4)).splitlines()
    assert len(list(jsonl_chunks(rows, rows_per_chunk=4))) == 3
    assert [json.loads(line)["id"] for line in lines] == [f"id-{i}" for i in range(10)]
    assert list(csv_chunks([])) == [",".join(COLUMNS) + "\r\n"]  # an empty export still has its header


def test_jsonl_rows_and_whole_records_decode() -> None:
    (line,) = b"".join(jsonl_chunks([export_row("id-1", edited())])).splitlines()
    row = json.loads(line)
    assert list(row) == list(COLUMNS)
    assert row["tags"] == ["cat", "mimi"] and row["prompt_score"] is None
    p = edited()
    (whole,) = b"".join(record_chunks([("id-1", p)])).splitlines()
    decoded = msgspec.json.decode(whole, type=ExportRecord)
    assert decoded.id == "id-1"
    assert msgspec.structs.asdict(decoded) == {"id": "id-1", **msgspec.structs.asdict(p)}


# --- which records -------------------------------------------------------------------


def _store(payloads: list[StoredImage]) -> FakeStore:
    store = FakeStore()
    encoder = PointEncoder(HashEmbedder())
    store.upsert(encoder.points([(point_id(p.sha256), p) for p in payloads]))
    return store


def test_all_records_filtered_by_normalised_tags_and_ranked_records_in_order() -> None:
    dogs = record("dog.jpg", tags=["dog", "grass"])
    cats = record("cat.jpg", tags=["cat"])
    store = _store([dogs, cats, record("two.jpg", tags=["dog", "cat"])])
    assert len(list(all_records(store))) == 3
    assert sorted(p.paths[0] for _, p in all_records(store, ["Dogs"])) == ["dog.jpg", "two.jpg"]
    assert [p.paths[0] for _, p in all_records(store, ["dog", "cat"])] == ["two.jpg"]
    ids = [point_id(cats.sha256), "gone", point_id(dogs.sha256)]
    assert [p.paths[0] for _, p in ranked_records(store, ids)] == ["cat.jpg", "dog.jpg"]


# --- XMP -------------------------------------------------------------------------------


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _li(root: ET.Element, prefix: str, name: str) -> list[str]:
    return [li.text or "" for element in root.iter(_q(prefix, name)) for li in element.iter(_q("rdf", "li"))]


def test_a_new_sidecar_keeps_the_machine_and_the_person_apart() -> None:
    root = ET.fromstring(sidecar("id-1", edited()))
    (alt,) = root.iter(_q("dc", "description"))
    assert [
        (li.get("{http://www.w3.org/XML/1998/namespace}lang"), li.text) for li in alt.iter(_q("rdf", "li"))
    ] == [("x-default", "Mimi asleep on the red sofa")]
    assert _li(root, "dc", "subject") == ["cat", "mimi"]
    assert root.findtext(f".//{_q('xmp', 'CreatorTool')}") == CREATOR_TOOL
    assert root.find(f".//{_q('Iptc4xmpExt', 'DigitalSourceType')}") is None  # not known to be AI
    assert root.findtext(f".//{_q('imgdesc', 'MachineDescription')}") == (
        "a cat called trip/cat.jpg The picture is horizontal."
    )
    assert _li(root, "imgdesc", "MachineTags") == ["cat", "sofa"]
    sources = {
        item.findtext(_q("imgdesc", "Name")): item.findtext(_q("imgdesc", "Source"))
        for item in root.iter(_q("rdf", "li"))
        if item.find(_q("imgdesc", "Name")) is not None
    }
    assert sources == {"cat": "objects", "mimi": "user"}
    (edit,) = root.iter(_q("imgdesc", "Edit"))
    assert edit.findtext(_q("imgdesc", "Description")) == "Mimi asleep on the red sofa"
    assert _li(edit, "imgdesc", "RemovedTags") == ["sofa"] and _li(edit, "imgdesc", "AddedTags") == ["mimi"]


def test_an_ai_generated_image_is_marked_by_its_digital_source_type() -> None:
    by_file = record(provenance=Provenance(ai_generated=True, ai_marker="file:a1111"))
    by_tag = record(tags=["ai-generated", "cat"])
    for p in (by_file, by_tag):
        root = ET.fromstring(sidecar("id", p))
        assert root.findtext(f".//{_q('Iptc4xmpExt', 'DigitalSourceType')}") == AI_SOURCE_TYPE


EXISTING = b"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:darktable="http://darktable.sf.net/"
    xmlns:imgdesc="http://ns.imgdesc.invalid/1.0/"
    xmp:Rating="4" xmp:CreatorTool="darktable 4.6" darktable:xmp_version="5">
   <dc:creator><rdf:Seq><rdf:li>Ana Lima</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">old words</rdf:li>
     <rdf:li xml:lang="pt">um gato no sofa</rdf:li></rdf:Alt></dc:description>
   <dc:subject><rdf:Bag><rdf:li>family</rdf:li><rdf:li>stale</rdf:li></rdf:Bag></dc:subject>
   <imgdesc:MachineDescription>old machine words</imgdesc:MachineDescription>
   <imgdesc:Tags><rdf:Seq><rdf:li rdf:parseType="Resource"><imgdesc:Name>stale</imgdesc:Name>
   </rdf:li></rdf:Seq></imgdesc:Tags>
   <darktable:history><rdf:Seq><rdf:li darktable:operation="exposure"/></rdf:Seq></darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""


def test_an_existing_sidecar_is_merged_not_clobbered() -> None:
    merged = sidecar("id-1", edited(), EXISTING)
    root = ET.fromstring(merged)
    (description,) = root.iter(_q("rdf", "Description"))
    # what others wrote stays: the rating, the creator, darktable's history and its prefix
    assert description.get(_q("xmp", "Rating")) == "4"
    assert _li(root, "dc", "creator") == ["Ana Lima"]
    assert description.get("{http://darktable.sf.net/}xmp_version") == "5"
    assert b"darktable:history" in merged and b"ns0:" not in merged
    # imgdesc's own is replaced: its description (the Portuguese one kept), its tags (a
    # keyword someone else added kept, the tag imgdesc wrote before and no longer has gone)
    assert _li(root, "dc", "description") == ["Mimi asleep on the red sofa", "um gato no sofa"]
    assert _li(root, "dc", "subject") == ["family", "cat", "mimi"]
    assert [e.text for e in root.iter(_q("imgdesc", "MachineDescription"))] == [
        "a cat called trip/cat.jpg The picture is horizontal."
    ]
    assert [e.text for e in root.iter(_q("xmp", "CreatorTool"))] == [CREATOR_TOOL]
    assert description.get(_q("xmp", "CreatorTool")) is None
    # merging again changes nothing
    assert sidecar("id-1", edited(), merged) == merged


@pytest.mark.parametrize(
    "bad",
    [
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><x>&b;</x>',
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><nothing/></x:xmpmeta>',
    ],
)
def test_an_unreadable_sidecar_is_refused(bad: bytes) -> None:
    with pytest.raises(SidecarError):
        sidecar("id", record(), bad)


# --- sidecars on disk ----------------------------------------------------------------


def test_sidecar_names() -> None:
    assert sidecar_path("trip/photo.jpg") == Path("trip/photo.jpg.xmp")
    assert sidecar_path("trip/photo.jpg", Naming.adobe) == Path("trip/photo.xmp")


def test_sidecars_mirror_the_tree_one_per_path(tmp_path: Path) -> None:
    out = tmp_path / "out"
    one = record("a/one.jpg", paths=["a/one.jpg", "b/c/copy.jpg"])
    summary = write_sidecars([("id-1", one), ("id-2", record("two.png"))], out)
    assert (summary.written, summary.merged, summary.problems) == (3, 0, [])
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["a/one.jpg.xmp", "b/c/copy.jpg.xmp", "two.png.xmp"]
    (out / "two.png.xmp").write_bytes(EXISTING)
    again = write_sidecars([("id-2", record("two.png"))], out)
    assert (again.written, again.merged) == (0, 1)
    assert b'xmp:Rating="4"' in (out / "two.png.xmp").read_bytes()


def test_adobe_names_that_collide_and_paths_out_of_the_folder_are_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    seen: list[str] = []
    summary = write_sidecars(
        [("1", record("p/photo.jpg")), ("2", record("p/photo.png")), ("3", record("../../escape.jpg"))],
        out,
        Naming.adobe,
        on_problem=seen.append,
    )
    assert summary.written == 1 and summary.problems == seen and len(seen) == 2
    assert "p/photo.png: its sidecar photo.xmp is already p/photo.jpg's" in seen[0]
    assert seen[1].startswith("../../escape.jpg: its sidecar would be outside")
    assert [p.name for p in tmp_path.rglob("*.xmp")] == ["photo.xmp"]


def test_an_unreadable_existing_sidecar_is_left_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "cat.jpg.xmp").write_bytes(b"<garbage")
    summary = write_sidecars([("1", record("cat.jpg"))], tmp_path)
    assert summary.written == summary.merged == 0
    assert "unreadable XMP" in summary.problems[0]
    assert (tmp_path / "cat.jpg.xmp").read_bytes() == b"<garbage"


def test_sidecars_beside_the_originals_never_touch_the_images(tmp_path: Path) -> None:
    images = tmp_path / "images"
    (images / "trip").mkdir(parents=True)
    originals = {"trip/a.jpg": image_bytes(1, fmt="JPEG"), "b.png": image_bytes(2)}
    for rel, data in originals.items():
        (images / rel).write_bytes(data)
    before = {rel: hashlib.sha256((images / rel).read_bytes()).hexdigest() for rel in originals}
    for naming in Naming:
        records = [(str(i), record(rel)) for i, rel in enumerate(originals)]
        assert not write_sidecars(records, images, naming).problems
    after = {rel: hashlib.sha256((images / rel).read_bytes()).hexdigest() for rel in originals}
    assert after == before
    names = sorted(p.relative_to(images).as_posix() for p in images.rglob("*.xmp"))
    assert names == ["b.png.xmp", "b.xmp", "trip/a.jpg.xmp", "trip/a.xmp"]


EXIFTOOL = shutil.which("exiftool")


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (Debian: libimage-exiftool-perl)")
def test_exiftool_reads_the_sidecar(tmp_path: Path) -> None:
    p = replace(edited(), provenance=Provenance(ai_generated=True, ai_marker="file:a1111"))
    (tmp_path / "cat.jpg.xmp").write_bytes(sidecar("id-1", p, EXISTING))
    assert EXIFTOOL is not None
    out = subprocess.run(
        [EXIFTOOL, "-json", "-G1", "-struct", str(tmp_path / "cat.jpg.xmp")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (tags,) = json.loads(out.stdout)
    assert tags["XMP-dc:Description"] == "Mimi asleep on the red sofa"
    assert tags["XMP-dc:Description-pt"] == "um gato no sofa"
    assert tags["XMP-dc:Subject"] == ["family", "cat", "mimi"]
    assert tags["XMP-dc:Creator"] == ["Ana Lima"] and tags["XMP-xmp:Rating"] == 4
    assert tags["XMP-xmp:CreatorTool"] == CREATOR_TOOL
    assert tags["XMP-iptcExt:DigitalSourceType"] == AI_SOURCE_TYPE
    assert tags["XMP-imgdesc:MachineDescription"].startswith("a cat called")
    assert tags["XMP-imgdesc:Tags"] == [
        {"Name": "cat", "Source": "objects", "Score": 0.93},
        {"Name": "mimi", "Source": "user", "Score": 1},
    ]
    assert tags["XMP-imgdesc:Edit"]["RemovedTags"] == ["sofa"]
