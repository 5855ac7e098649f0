"""Provenance from real files: generator text chunks, XMP, EXIF, and hostile metadata."""

from __future__ import annotations

import io
import json
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from describe.analyzers.provenance import ProvenanceAnalyzer, read_provenance
from describe.facts import Provenance
from describe.intake import load_image
from describe.provenance.metadata import MAX_VALUE_BYTES, FileMetadata

A1111 = (
    "a dog and a cat on a red sofa, (photorealistic:1.2), 8k <lora:detail:0.6>\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model: sdxl_base, "
    'Lora hashes: "detail: abc, x: y", Version: v1.10.1'
)
COMFY_GRAPH = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 7.5, "sampler_name": "euler",
          "scheduler": "normal", "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ["10", 0], "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly, watermark", "clip": ["4", 1]}},
    "10": {"class_type": "PrimitiveString", "inputs": {"value": "a cat on a windowsill"}},
}  # fmt: skip
XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
  xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmp:CreatorTool="Adobe Firefly"
  Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia">
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">a brown cat looking up</rdf:li></rdf:Alt>
</dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def png(photo: np.ndarray, **chunks: str | bytes) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def provenance(data: bytes, prompt: str | None = None) -> Provenance:
    image = load_image(data)
    if prompt is not None:
        from dataclasses import replace

        image = replace(image, prompt=prompt)
    result = ProvenanceAnalyzer().analyze(image)
    assert isinstance(result, Provenance)
    return result


def test_a1111_parameters(photos: dict[str, np.ndarray]) -> None:
    p = provenance(png(photos["chelsea"], parameters=A1111))
    assert p.source == "file:a1111" and p.generator == "AUTOMATIC1111"
    assert p.prompt.startswith("a dog and a cat on a red sofa")
    assert p.negative_prompt == "blurry, lowres"
    assert (p.seed, p.model) == ("1234", "sdxl_base")
    assert p.settings["Steps"] == "30" and p.settings["Lora hashes"] == "detail: abc, x: y"
    assert p.ai_generated and p.ai_marker == "file:a1111" and p.notes == ()


def test_the_callers_prompt_wins(photos: dict[str, np.ndarray]) -> None:
    p = provenance(png(photos["chelsea"], parameters=A1111), prompt="a tabby cat")
    assert (p.prompt, p.source) == ("a tabby cat", "caller")
    assert p.ai_generated  # the file's marker stays
    plain = provenance(png(photos["chelsea"]), prompt="a tabby cat")
    assert plain.source == "caller" and not plain.ai_generated


def test_comfyui_follows_the_samplers_positive_input(photos: dict[str, np.ndarray]) -> None:
    workflow = json.dumps({"nodes": [{"type": "CLIPTextEncode", "widgets_values": ["ignored"]}]})
    p = provenance(png(photos["chelsea"], prompt=json.dumps(COMFY_GRAPH), workflow=workflow))
    assert (p.source, p.generator) == ("file:comfyui", "ComfyUI")
    assert p.prompt == "a cat on a windowsill"
    assert p.negative_prompt == "ugly, watermark"
    assert (p.seed, p.model, p.settings["sampler_name"]) == ("42", "sd15.safetensors", "euler")


def test_comfyui_workflow_only_skips_the_negative_node() -> None:
    workflow = {"nodes": [
        {"type": "CLIPTextEncode", "title": "Negative", "widgets_values": ["blurry"]},
        {"type": "CLIPTextEncode", "title": "Positive", "widgets_values": ["a red bicycle"]},
    ]}  # fmt: skip
    p = read_provenance(FileMetadata(text={"workflow": json.dumps(workflow)}))
    assert (p.prompt, p.source) == ("a red bicycle", "file:comfyui")


@pytest.mark.parametrize(
    ("chunks", "source", "prompt", "seed"),
    [
        ({"invokeai_metadata": json.dumps({"positive_prompt": "a lighthouse", "seed": 7, "model": {}})},
         "file:invokeai", "a lighthouse", "7"),
        ({"sd-metadata": json.dumps({"image": {"prompt": [{"prompt": "a barn", "weight": 1}], "seed": 9}})},
         "file:invokeai", "a barn", "9"),
        ({"parameters": json.dumps({"Prompt": "a red kite", "Negative Prompt": "text", "Seed": "5"}),
          "fooocus_scheme": "fooocus"}, "file:fooocus", "a red kite", "5"),
        ({"Software": "NovelAI", "Description": "a fox", "Comment": json.dumps({"seed": 3, "uc": "lowres"})},
         "file:novelai", "a fox", "3"),
    ],
)  # fmt: skip
def test_other_generators(chunks: dict[str, str], source: str, prompt: str, seed: str) -> None:
    p = read_provenance(FileMetadata(text=chunks))
    assert (p.source, p.prompt, p.seed, p.ai_generated) == (source, prompt, seed, True)


def test_jpeg_xmp_description_and_iptc_source_type(photos: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    Image.fromarray(photos["chelsea"]).save(buf, "JPEG", xmp=XMP.encode())
    p = provenance(buf.getvalue())
    assert (p.prompt, p.source) == ("a brown cat looking up", "file:xmp")
    assert p.ai_generated and p.ai_marker == "iptc:trainedAlgorithmicMedia"
    assert p.generator == "Adobe Firefly"


def test_jpeg_exif_user_comment_from_a1111(photos: dict[str, np.ndarray]) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + A1111.encode("utf-16-be")  # as A1111 saves a JPEG
    exif[0x010E] = "OLYMPUS DIGITAL CAMERA"  # a camera's placeholder is no description
    buf = io.BytesIO()
    Image.fromarray(photos["chelsea"]).save(buf, "JPEG", exif=exif)
    p = provenance(buf.getvalue())
    assert p.source == "file:a1111" and p.prompt.startswith("a dog and a cat")
    assert p.seed == "1234"


def test_exif_image_description_is_a_prompt_of_last_resort(photos: dict[str, np.ndarray]) -> None:
    exif = Image.Exif()
    exif[0x010E] = "Two cups of espresso on a table"
    buf = io.BytesIO()
    Image.fromarray(photos["coffee"]).save(buf, "JPEG", exif=exif)
    p = provenance(buf.getvalue())
    assert (p.prompt, p.source, p.ai_generated) == ("Two cups of espresso on a table", "file:exif", False)


@pytest.mark.parametrize(
    "comment",
    ["File written by Adobe Photoshop\u00a8 5.0", "Created with GIMP", "Optimized by JPEGmini 3.14"],
)
def test_a_software_signature_is_not_a_prompt(photos: dict[str, np.ndarray], comment: str) -> None:
    """A plain photo an editor signed has no prompt, so nothing is checked against it."""
    p = provenance(png(photos["coffee"][:64, :64], Comment=comment))
    assert (p.prompt, p.source) == ("", "")


def test_a_comment_that_describes_the_picture_is_still_a_prompt(photos: dict[str, np.ndarray]) -> None:
    p = provenance(png(photos["coffee"][:64, :64], Comment="Made with love: two cups of espresso on a table"))
    assert (p.prompt, p.source) == ("Made with love: two cups of espresso on a table", "file:text")


def test_a_huge_chunk_is_dropped_with_a_note(photos: dict[str, np.ndarray]) -> None:
    data = png(photos["chelsea"][:64, :64], parameters="x" * 10_000_000, Title="kept")
    image = load_image(data)
    assert "parameters" not in image.metadata.text and image.metadata.text["Title"] == "kept"
    p = ProvenanceAnalyzer().analyze(image)
    assert p.prompt == "" and any("'parameters'" in n and "over the limit" in n for n in p.notes)
    assert MAX_VALUE_BYTES < 10_000_000


@pytest.mark.parametrize("itxt", [False, True])
def test_a_compressed_chunk_that_inflates_to_50_mb_is_skipped_and_the_image_described(
    photos: dict[str, np.ndarray], itxt: bool
) -> None:
    info = PngImagePlugin.PngInfo()
    bomb = "x" * 50_000_000  # 50 MB of text, a few kB compressed
    info.add_itxt("Comment", bomb, zip=True) if itxt else info.add_text("Comment", bomb, zip=True)
    info.add_text("Title", "kept")
    buf = io.BytesIO()
    Image.fromarray(photos["chelsea"][:64, :64]).save(buf, "PNG", pnginfo=info)
    assert len(buf.getvalue()) < 1_000_000
    image = load_image(buf.getvalue(), name="bomb.png")
    assert (image.width, image.height) == (64, 64) and image.metadata.text == {"Title": "kept"}
    kind = "iTXt" if itxt else "zTXt"
    assert image.metadata.notes == (f"the {kind} chunk 'Comment' inflates past 1 MiB: skipped",)
    assert ProvenanceAnalyzer().analyze(image).notes == image.metadata.notes


def test_an_itxt_chunk_that_is_not_utf8_is_noted_and_the_rest_kept(photos: dict[str, np.ndarray]) -> None:
    """Pillow drops such a chunk without a word; the description says it was there."""
    data = png(photos["chelsea"][:32, :32], Title="kept")
    body = b"prompt\0\0\0\0\0a cat \xff\xfe on a mat"  # uncompressed iTXt, its text not UTF-8
    chunk = len(body).to_bytes(4, "big") + b"iTXt" + body + zlib.crc32(b"iTXt" + body).to_bytes(4, "big")
    at = data.index(b"IDAT") - 4
    image = load_image(data[:at] + chunk + data[at:], name="odd.png")
    assert image.metadata.text == {"Title": "kept"}
    assert image.metadata.notes == ("the iTXt chunk 'prompt' is not valid UTF-8: ignored",)
    assert ProvenanceAnalyzer().analyze(image).notes == image.metadata.notes


def test_a_png_without_oversized_chunks_passes_through_untouched(photos: dict[str, np.ndarray]) -> None:
    from describe.provenance.png_text import drop_oversized_text

    data = png(photos["chelsea"][:32, :32], Title="small", Comment="a cat")
    assert drop_oversized_text(data) == (data, [])
    assert drop_oversized_text(b"not a png") == (b"not a png", [])


def test_invalid_json_is_ignored_with_a_note(photos: dict[str, np.ndarray]) -> None:
    p = provenance(png(photos["chelsea"][:64, :64], prompt='{"3": {"class_type": "KSampler", '))
    assert p.prompt == "" and p.notes == ("text chunk 'prompt' is not valid JSON: ignored",)
    deep = read_provenance(FileMetadata(text={"invokeai_metadata": "[" * 100_000 + "]" * 100_000}))
    assert deep.prompt == "" and deep.notes


def test_utf8_stored_as_latin1_is_read_back(photos: dict[str, np.ndarray]) -> None:
    # tEXt is Latin-1 by the spec; a tool that writes UTF-8 bytes there reads as mojibake
    mojibake = "a café with a crème brûlée".encode().decode("latin-1")
    p = provenance(png(photos["chelsea"][:64, :64], parameters=mojibake))
    assert p.prompt == "a café with a crème brûlée"
    broken = read_provenance(FileMetadata(text={"parameters": "a cat\x00\x07 ÿþ\udcff"}))
    assert broken.prompt.startswith("a cat")


def test_hostile_xmp_is_refused_with_a_note() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>'
    p = read_provenance(FileMetadata(xmp=bomb))
    assert p.prompt == "" and p.notes and "XMP unreadable" in p.notes[0]
    garbage = read_provenance(
        FileMetadata(xmp=b"\xff\xfe<not xml", exif={"UserComment": b"\x00" * 8 + b"\xff\xfe"})
    )
    assert garbage.prompt == "" and "XMP unreadable" in garbage.notes[0]
    assert "EXIF UserComment is not readable text: ignored" in garbage.notes


def test_a_plain_photo_has_no_provenance(photos: dict[str, np.ndarray]) -> None:
    p = provenance(png(photos["coffee"][:64, :64]))
    assert p == Provenance()


@pytest.mark.parametrize(
    ("raw", "read", "noted"),
    [("café au lait".encode(), "café au lait", False), (b"caf\xe9 \xff\xfe", "café ÿþ", True)],
)
def test_a_tEXt_chunk_is_read_as_utf8_when_it_is_and_noted_when_it_is_not(
    raw: bytes, read: str, noted: bool
) -> None:
    """ComfyUI and A1111 write UTF-8 into tEXt, which Pillow reads as Latin-1 ("cafÃ©");
    bytes that are not UTF-8 are kept as Latin-1, with a note rather than silently."""
    from PIL import PngImagePlugin

    from describe.provenance.metadata import read_metadata

    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", raw.decode("latin-1"))  # tEXt holding exactly these bytes
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    with Image.open(io.BytesIO(buf.getvalue())) as img:
        img.load()
        found = read_metadata(img)
    assert found.text["prompt"] == read
    assert any("'prompt' is not valid UTF-8" in note for note in found.notes) == noted


def test_an_xmp_language_alternative_gives_its_x_default_entry() -> None:
    """Readers take x-default; the first entry was German here."""
    from describe.analyzers.provenance import read_xmp

    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt>'
        b'<rdf:li xml:lang="de">Ein Hund im Schnee</rdf:li>'
        b'<rdf:li xml:lang="x-default">A dog in the snow</rdf:li>'
        b"</rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    assert read_xmp(packet, []).description == "A dog in the snow"
