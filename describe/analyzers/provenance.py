"""Provenance: the generation prompt and the AI-generated marker the file carries. No model.

Reads what intake captured (describe/provenance/metadata.py): generator text chunks
(describe/provenance/generators.py), the XMP packet (dc:description, xmp:CreatorTool and IPTC's
DigitalSourceType, which C2PA-signing tools such as Firefly and DALL·E also write) and
the EXIF descriptions. A caller's prompt wins over all of them. Unusable metadata is
skipped with a note in ``Provenance.notes``; it never fails the image.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from functools import cache
from importlib.resources import files

from describe.analyzers.base import BaseAnalyzer
from describe.facts import Facts, Provenance
from describe.intake import PreparedImage
from describe.provenance.generators import Generation, parse_a1111, read_generation
from describe.provenance.keywords import read_file_words
from describe.provenance.metadata import FileMetadata
from describe.registry import register

_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "iptcext": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}
# IPTC digital source types (cv.iptc.org/newscodes/digitalsourcetype/) that mean a
# generative model made the picture, wholly or in part
AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
# A prompt longer than this is cut before it is checked (a pasted essay is no prompt).
MAX_PROMPT_CHARS = 4000
# EXIF prefixes of UserComment (EXIF 2.32, table 9): the character code of the rest
_USER_COMMENT_CODES = {b"ASCII\0\0\0": "ascii", b"UNICODE\0": "utf-16", b"JIS\0\0\0\0\0": "shift_jis"}


def fix_text(text: str) -> str:
    """Control characters out; UTF-8 that a tool stored as Latin-1 (tEXt) read back as UTF-8."""
    if not text.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):  # real Latin-1, or right already
            text = text.encode("latin-1").decode("utf-8")
    return "".join(c for c in text if c.isprintable() or c in "\n\t").strip()


def _user_comment(raw: bytes) -> str:
    code = _USER_COMMENT_CODES.get(raw[:8])
    body = raw[8:] if code or raw[:8] == b"\0" * 8 else raw
    if code == "utf-16":
        # the spec leaves the byte order to the file's; A1111 (via piexif) writes big-endian
        big, little = body.decode("utf-16-be"), body.decode("utf-16-le")
        return big if sum(c.isascii() for c in big) >= sum(c.isascii() for c in little) else little
    return body.decode(code or "utf-8").rstrip("\0")


class _Xmp:
    def __init__(self, description: str = "", creator_tool: str = "", source_type: str = "") -> None:
        self.description = description
        self.creator_tool = creator_tool
        self.source_type = source_type


def read_xmp(raw: bytes, notes: list[str]) -> _Xmp:
    """dc:description, xmp:CreatorTool and Iptc4xmpExt:DigitalSourceType from an XMP packet,
    each as an element or as an attribute of rdf:Description (writers use both)."""
    if not raw:
        return _Xmp()
    try:
        from defusedxml import ElementTree  # entity bombs and external entities refused

        root = ElementTree.fromstring(raw.strip(b"\0 \r\n\t"))
    except ImportError:
        notes.append("XMP not read: the defusedxml package is not installed")
        return _Xmp()
    except Exception as exc:  # ParseError, or defusedxml's refusals (DTDForbidden, …)
        notes.append(f"XMP unreadable ({type(exc).__name__}): ignored")
        return _Xmp()

    def value(ns: str, name: str) -> str:
        tag = f"{{{_NS[ns]}}}{name}"
        for desc in root.iter(f"{{{_NS['rdf']}}}Description"):
            if tag in desc.attrib:
                return str(desc.attrib[tag]).strip()
        for element in root.iter(tag):
            # a language alternative (rdf:Alt/rdf:li): its x-default entry first, as XMP
            # readers do; else the first language, or a plain value
            lang = "{http://www.w3.org/XML/1998/namespace}lang"
            default = [li for li in element.iter(f"{{{_NS['rdf']}}}li") if li.attrib.get(lang) == "x-default"]
            texts = [t.strip() for e in (default or [element]) for t in e.itertext() if t.strip()]
            resource = element.attrib.get(f"{{{_NS['rdf']}}}resource", "")
            if texts or resource:
                return texts[0] if texts else str(resource)
        return ""

    return _Xmp(
        value("dc", "description"), value("xmp", "CreatorTool"), value("iptcext", "DigitalSourceType")
    )


def _is_placeholder(text: str) -> bool:
    """Camera firmware fills ImageDescription with its name ("OLYMPUS DIGITAL CAMERA",
    "SONY DSC"); editors and converters sign comments ("File written by Adobe Photoshop?
    5.0"): neither says what the picture shows (describe/data/software_notes.toml)."""
    return (text.isupper() and len(text.split()) <= 3) or _software_note().match(text.strip()) is not None


@cache
def _software_note() -> re.Pattern[str]:
    data = tomllib.loads(files("describe").joinpath("data/software_notes.toml").read_text("utf-8"))
    return re.compile("|".join(f"(?:{p})" for p in data["patterns"]), re.IGNORECASE)


def read_provenance(meta: FileMetadata, caller_prompt: str | None = None) -> Provenance:
    notes = list(meta.notes)
    chunks = {k: fix_text(v) for k, v in meta.text.items()}
    generation: Generation | None = read_generation(chunks, notes)
    xmp = read_xmp(meta.xmp, notes)
    exif = {k: fix_text(_exif_text(k, v, notes)) for k, v in meta.exif.items()}
    comment = exif.get("UserComment", "")
    if generation is None and comment:  # A1111 and Forge save JPEG and WebP parameters here
        generation = parse_a1111(comment)
    source_type = xmp.source_type.rsplit("/", 1)[-1]
    ai_marker = f"iptc:{source_type}" if source_type in AI_SOURCE_TYPES else ""
    described = [
        (xmp.description, "file:xmp"),
        (exif.get("ImageDescription", ""), "file:exif"),
        (comment, "file:exif"),
        (exif.get("XPComment", ""), "file:exif"),
        (chunks.get("Description", "") or chunks.get("Comment", ""), "file:text"),
    ]
    prompt, source = next(((t, s) for t, s in described if t and not _is_placeholder(t)), ("", ""))
    if generation is not None and generation.prompt:
        prompt, source = generation.prompt, generation.source
        ai_marker = ai_marker or generation.source
    if caller_prompt and caller_prompt.strip():
        prompt, source = fix_text(caller_prompt), "caller"
    if len(prompt) > MAX_PROMPT_CHARS:
        notes.append(f"the prompt is {len(prompt)} characters; the first {MAX_PROMPT_CHARS} are checked")
        prompt = prompt[:MAX_PROMPT_CHARS]
    words = read_file_words(meta, exif, notes)  # the file's own keywords, title and description
    gen = generation or Generation(source="", generator="")
    return Provenance(
        prompt=prompt,
        source=source,
        negative_prompt=gen.negative_prompt,
        generator=gen.generator or xmp.creator_tool or exif.get("Software", "") or chunks.get("Software", ""),
        model=gen.model,
        seed=gen.seed,
        settings=gen.settings,
        ai_generated=bool(ai_marker),
        ai_marker=ai_marker,
        notes=tuple(notes),
        keywords=words.keywords,
        title=words.title,
        file_description=words.description,
    )


def _exif_text(name: str, value: str | bytes, notes: list[str]) -> str:
    if isinstance(value, str):
        return value
    try:
        if name == "UserComment":
            return _user_comment(value)
        # Windows' XP fields are UTF-16LE; the rest should be ASCII, often is UTF-8
        return value.decode("utf-16-le" if name.startswith("XP") else "utf-8").rstrip("\0")
    except (UnicodeDecodeError, LookupError):
        notes.append(f"EXIF {name} is not readable text: ignored")
        return ""


@register("provenance")
class ProvenanceAnalyzer(BaseAnalyzer):
    name = "provenance"
    produces = "provenance"
    needs_model = False

    def _analyze(self, image: PreparedImage, facts: Facts) -> Provenance:
        return read_provenance(image.metadata, image.prompt)
