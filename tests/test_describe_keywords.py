"""The file's own keywords, title and description: read from real JPEG and PNG files that
carry an XMP packet, an IPTC block or EXIF XPKeywords (built here), turned into tags with
source "file", put into the lexical view, and found by a tag filter through the indexer."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fakes import FakeStore, HashEmbedder, fake_analyzers, image_bytes, make_describer, make_description
from msgspec.structs import replace
from PIL import Image, PngImagePlugin

from catalog.embed import sparse_vector
from catalog.points import FILE_TEXT_SPARSE_WEIGHT, file_text, sparse_terms, stored_image
from catalog.store.base import point_id
from describe.analyzers.provenance import read_provenance
from describe.facts import Facts, ObjectCount, ObjectFacts, Provenance
from describe.intake import load_image
from describe.provenance.keywords import MAX_KEYWORD_CHARS, MAX_KEYWORDS
from describe.provenance.metadata import FileMetadata
from describe.render.profiles import TagRules
from describe.render.tags import build_tags
from indexer.pipeline import Indexer, file_sha256
from indexer.watch import run_once
from search.service import SearchService


def xmp_packet(
    subjects: Sequence[str] = (),
    hierarchy: Sequence[str] = (),
    title: str = "",
    description: str = "",
    other_language: bool = True,
) -> bytes:
    """An XMP packet as Lightroom writes one: bags of keywords, language alternatives
    (with `other_language`, a German entry ahead of the x-default one)."""

    def bag(items: Sequence[str]) -> str:
        return "<rdf:Bag>" + "".join(f"<rdf:li>{item}</rdf:li>" for item in items) + "</rdf:Bag>"

    def alt(text: str) -> str:
        entries = f'<rdf:li xml:lang="x-default">{text}</rdf:li>'
        if other_language:
            entries = '<rdf:li xml:lang="de">falsch</rdf:li>' + entries
        return f"<rdf:Alt>{entries}</rdf:Alt>"

    body = "".join(
        [
            f"<dc:subject>{bag(subjects)}</dc:subject>" if subjects else "",
            f"<lr:hierarchicalSubject>{bag(hierarchy)}</lr:hierarchicalSubject>" if hierarchy else "",
            f"<dc:title>{alt(title)}</dc:title>" if title else "",
            f"<dc:description>{alt(description)}</dc:description>" if description else "",
        ]
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:lr="http://ns.adobe.com/lightroom/1.0/">{body}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def jpeg(xmp: bytes = b"", exif: Image.Exif | None = None) -> bytes:
    buf = io.BytesIO()
    image = Image.open(io.BytesIO(image_bytes(3)))
    image.save(buf, "JPEG", xmp=xmp, exif=exif or Image.Exif())
    return buf.getvalue()


def png(xmp: bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp.decode())
    buf = io.BytesIO()
    Image.open(io.BytesIO(image_bytes(4))).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _dataset(record: int, number: int, data: bytes) -> bytes:
    return bytes([0x1C, record, number]) + len(data).to_bytes(2, "big") + data


def with_iptc(jpeg_bytes: bytes, datasets: list[tuple[int, int, bytes]]) -> bytes:
    """The JPEG with an APP13 Photoshop block holding one IPTC-IIM resource (0x0404), as
    Photo Mechanic and Photoshop write it."""
    iptc = b"".join(_dataset(*d) for d in datasets)
    resource = b"8BIM" + (0x0404).to_bytes(2, "big") + b"\0\0" + len(iptc).to_bytes(4, "big") + iptc
    resource += b"\0" * (len(iptc) % 2)  # resources are padded to an even length
    app13 = b"Photoshop 3.0\0" + resource
    segment = b"\xff\xed" + (len(app13) + 2).to_bytes(2, "big") + app13
    return jpeg_bytes[:2] + segment + jpeg_bytes[2:]


def provenance_of(data: bytes) -> Provenance:
    return read_provenance(load_image(data).metadata)


def test_xmp_keywords_title_and_description_from_a_jpeg() -> None:
    xmp = xmp_packet(
        subjects=["campaign-2026", "Paris", "  Eiffel   Tower "],
        hierarchy=["Places|Europe|Paris", "Events|Launch party"],
        title="Spring launch",
        description="The team at the launch",
    )
    p = provenance_of(jpeg(xmp))
    # the leaves of the hierarchy only; Paris once; whitespace tidied, case as written
    assert p.keywords == ("campaign-2026", "Paris", "Eiffel Tower", "Launch party")
    assert p.title == "Spring launch"  # the x-default entry, not the first
    assert p.file_description == "The team at the launch"
    assert p.notes == ()


def test_xmp_keywords_from_a_png_itxt_chunk() -> None:
    p = provenance_of(png(xmp_packet(subjects=["harbour", "boats"], title="Kiel")))
    assert (p.keywords, p.title) == (("harbour", "boats"), "Kiel")


def test_iptc_keywords_caption_and_object_name() -> None:
    data = with_iptc(
        jpeg(),
        [
            (1, 90, b"\x1b%G"),  # UTF-8
            (2, 5, "Caf\u00e9 terrace".encode()),
            (2, 25, b"street"),
            (2, 25, "caf\u00e9".encode()),
            (2, 120, b"Evening on the square"),
        ],
    )
    p = provenance_of(data)
    assert p.keywords == ("street", "caf\u00e9")
    assert p.title == "Caf\u00e9 terrace"
    assert p.file_description == "Evening on the square"


def test_iptc_without_a_character_set_falls_back_to_latin_1() -> None:
    data = with_iptc(jpeg(), [(2, 25, "M\u00fcnchen".encode("latin-1")), (2, 25, b"beer")])
    assert provenance_of(data).keywords == ("M\u00fcnchen", "beer")


def test_exif_xpkeywords_are_utf16_and_semicolon_separated() -> None:
    exif = Image.Exif()
    exif[0x9C9E] = "dog; beach ;;sunset\u00e9".encode("utf-16-le") + b"\0\0"
    exif[0x9C9B] = "Holiday".encode("utf-16-le") + b"\0\0"
    p = provenance_of(jpeg(exif=exif))
    assert p.keywords == ("dog", "beach", "sunset\u00e9")
    assert p.title == "Holiday"


def test_keywords_from_every_place_are_merged_without_duplicates() -> None:
    exif = Image.Exif()
    exif[0x9C9E] = "Dog;cat".encode("utf-16-le")
    data = with_iptc(jpeg(xmp_packet(subjects=["dog", "bird"]), exif), [(2, 25, b"BIRD"), (2, 25, b"fish")])
    assert provenance_of(data).keywords == ("dog", "bird", "fish", "cat")


def test_too_many_or_too_long_keywords_are_capped_with_notes() -> None:
    many = [f"kw{i}" for i in range(MAX_KEYWORDS + 50)] + ["x" * (MAX_KEYWORD_CHARS + 1)]
    p = provenance_of(jpeg(xmp_packet(subjects=["y" * (MAX_KEYWORD_CHARS + 1), *many])))
    assert p.keywords == tuple(many[:MAX_KEYWORDS])
    assert any(f"more than {MAX_KEYWORDS} keywords" in n for n in p.notes)
    assert any("keyword of 101 characters" in n for n in p.notes)


def test_a_damaged_iptc_block_or_xmp_packet_is_noted_and_the_image_still_read() -> None:
    # a dataset whose length field is illegal (an extended length of 16 bytes)
    broken = with_iptc(jpeg(), [(2, 25, b"ok"), (2, 25, b"no")])
    broken = broken.replace(b"\x1c\x02\x19\x00\x02no", b"\x1c\x02\x19\x90\x02no")
    image = load_image(broken)
    assert image.width > 0
    p = read_provenance(image.metadata)
    assert p.keywords == ()
    assert any("IPTC" in n for n in p.notes), p.notes
    bad_xmp = read_provenance(FileMetadata(xmp=b"<x:xmpmeta><dc:subject>not closed"))
    assert bad_xmp.keywords == () and any("XMP unreadable" in n for n in bad_xmp.notes)


def test_no_metadata_means_no_keywords() -> None:
    p = provenance_of(image_bytes(1))
    assert (p.keywords, p.title, p.file_description) == ((), "", "")


# --- tags ------------------------------------------------------------------------------


def _facts(keywords: tuple[str, ...], objects: tuple[str, ...] = ()) -> Facts:
    counts = tuple(ObjectCount(label, 1, 0.9) for label in objects)
    return Facts(
        width=8, height=8, objects=ObjectFacts(counts=counts), provenance=Provenance(keywords=keywords)
    )


def test_keywords_become_normalised_tags_with_source_file_beyond_max_tags() -> None:
    rules = TagRules(max_tags=2)
    tags = build_tags(_facts(("Campaign-2026", "Dogs", "  ", "cat"), objects=("cat", "car", "bus")), rules)
    by_name = {t.name: t for t in tags}
    # the models' tags cut at max_tags; the file's keywords kept all the same
    assert [t.name for t in tags] == ["cat", "car", "campaign-2026", "dog"]
    # a keyword a model also found keeps its place and takes the file as its source
    assert by_name["cat"].source == "file" and by_name["car"].source == "objects"
    assert by_name["dog"].source == "file" and by_name["dog"].score == 1.0


def test_a_profile_without_provenance_tags_takes_no_keywords() -> None:
    rules = TagRules(sources=("objects",))
    assert [t.name for t in build_tags(_facts(("campaign-2026",), ("cat",)), rules)] == ["cat"]


# --- the lexical view ------------------------------------------------------------------


def test_title_and_description_join_the_sparse_view_at_full_weight() -> None:
    plain = stored_image(make_description("a boat"), sha256="a" * 64, paths=["a.jpg"])
    words = Provenance(title="Zanzibar ferry", file_description="crossing at dawn")
    base = sparse_terms(plain, "a boat")
    terms = sparse_terms(replace(plain, provenance=words), "a boat")
    weights = dict(zip(terms.indices, terms.values, strict=True))
    file_terms = sparse_vector(file_text(replace(plain, provenance=words)))
    for index, value in zip(file_terms.indices, file_terms.values, strict=True):
        assert index not in base.indices
        assert weights[index] == pytest.approx(value * FILE_TEXT_SPARSE_WEIGHT)
    assert len(file_terms.indices) == 4  # zanzibar, ferry, crossing, dawn
    # without any file text the view is the recall document's alone, as before
    assert base == sparse_vector("a boat")


def test_a_description_that_is_the_prompt_is_counted_once_at_the_prompt_weight() -> None:
    xmp = xmp_packet(title="Fog", description="a lighthouse in fog", other_language=False)
    p = provenance_of(jpeg(xmp))
    assert p.prompt == p.file_description == "a lighthouse in fog"  # dc:description is both
    record = stored_image(make_description("x"), sha256="b" * 64, paths=["b.jpg"])
    assert file_text(replace(record, provenance=p)) == "Fog"


# --- through the indexer -----------------------------------------------------------------


@pytest.fixture()
def indexer(tmp_path: Path) -> Iterator[tuple[Path, FakeStore, Indexer]]:
    root = tmp_path / "root"
    root.mkdir()
    store = FakeStore()
    with fake_analyzers():
        indexer = Indexer(root, tmp_path / "data", make_describer(), HashEmbedder(), store)
        yield root, store, indexer
        indexer.close()


def test_a_file_carrying_a_keyword_is_found_by_that_tag(indexer: tuple[Path, FakeStore, Indexer]) -> None:
    root, store, idx = indexer
    (root / "launch.jpg").write_bytes(jpeg(xmp_packet(subjects=["campaign-2026"], title="Zanzibar ferry")))
    (root / "iptc.jpg").write_bytes(with_iptc(jpeg(), [(2, 25, b"campaign-2026")]))
    (root / "plain.png").write_bytes(image_bytes(7))
    assert run_once(idx)["described"] == 3
    search = SearchService(store, HashEmbedder())
    found = search.search("", ["campaign-2026"])
    assert sorted(hit.path for hit in found) == ["iptc.jpg", "launch.jpg"]
    # the tag filter is normalised as the stored tag was: the same spelling works
    assert {hit.path for hit in search.search("", ["Campaign-2026"])} == {"iptc.jpg", "launch.jpg"}
    record = store.get(point_id(file_sha256(root / "launch.jpg")))
    assert record is not None and record.provenance is not None
    assert record.provenance.keywords == ("campaign-2026",)
    assert any(t.name == "campaign-2026" and t.source == "file" for t in record.tag_details)
    # the title's words are in the lexical view: a query for one finds that file first
    assert search.search("zanzibar", [])[0].path == "launch.jpg"
