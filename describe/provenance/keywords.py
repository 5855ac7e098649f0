"""The words a person wrote into the file: keywords, a title and a description.

Photo managers (Lightroom, darktable, digiKam, Photo Mechanic, Windows' file
properties) write them into the file itself, in up to three places; all are read:

- XMP ``dc:subject`` (a bag of keywords) and ``lr:hierarchicalSubject`` (Lightroom's
  keyword paths, "Places|Europe|Paris"). Of a path only the leaf is taken: Lightroom
  writes the leaf to dc:subject too, along with exactly the parent keywords the person
  chose to export ("Include on Export"); taking every level of the path would undo that
  choice and tag everything "Places". The leaf still matters for writers that fill only
  the hierarchy. A whole path as one tag is no filter anyone would type.
- IPTC-IIM Keywords (2:25), Object Name (2:05) and Caption-Abstract (2:120).
- EXIF XPKeywords (Windows: UTF-16LE, ";"-separated) and XPTitle.

The title is XMP ``dc:title``, else IPTC Object Name, else XPTitle; the description is XMP
``dc:description``, else IPTC Caption-Abstract. Every value is capped, the keywords in
number too; what is left out is noted. Nothing here raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from describe.provenance.metadata import FileMetadata

NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "xml": "http://www.w3.org/XML/1998/namespace",
}
# Keywords kept per file: a real photo carries a few dozen at most; a keyword stuffer's
# thousands would swamp the tags (and the tag index)
MAX_KEYWORDS = 64
MAX_KEYWORD_CHARS = 100
MAX_TITLE_CHARS = 300
# the same cut the prompt gets: a description longer than this is an essay, not a caption
MAX_DESCRIPTION_CHARS = 4000
HIERARCHY_SEPARATOR = "|"
XP_KEYWORD_SEPARATOR = ";"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class FileWords:
    keywords: tuple[str, ...] = ()
    title: str = ""
    description: str = ""


def read_file_words(meta: FileMetadata, exif: Mapping[str, str], notes: list[str]) -> FileWords:
    """The file's keywords, title and description. `exif`: the EXIF text fields already
    decoded (describe/analyzers/provenance.py decodes, and notes, every one of them)."""
    xmp = _xmp_words(meta.xmp)
    iptc = meta.iptc
    candidates = [
        *xmp.keywords,
        *iptc.get("Keywords", ()),
        *exif.get("XPKeywords", "").split(XP_KEYWORD_SEPARATOR),
    ]
    keywords = _keywords(candidates, notes)
    title = _first(xmp.title, *iptc.get("ObjectName", ())[:1], exif.get("XPTitle", ""))
    description = _first(xmp.description, *iptc.get("Caption-Abstract", ())[:1])
    if len(description) > MAX_DESCRIPTION_CHARS:
        cut = MAX_DESCRIPTION_CHARS
        notes.append(f"the file's description is {len(description)} characters; the first {cut} are kept")
        description = description[:MAX_DESCRIPTION_CHARS]
    return FileWords(keywords, title[:MAX_TITLE_CHARS], description)


def clean(text: str) -> str:
    """One line: control characters out, runs of whitespace one space."""
    return _SPACES.sub(" ", "".join(c if c.isprintable() else " " for c in text)).strip()


def _first(*texts: str) -> str:
    return next((c for c in map(clean, texts) if c), "")


def _keywords(candidates: Iterable[str], notes: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}  # casefolded → as written first
    for raw in candidates:
        word = clean(raw)
        if not word or word.casefold() in seen:
            continue
        if len(word) > MAX_KEYWORD_CHARS:
            notes.append(f"a keyword of {len(word)} characters was ignored (limit {MAX_KEYWORD_CHARS})")
            continue
        if len(seen) == MAX_KEYWORDS:
            notes.append(f"more than {MAX_KEYWORDS} keywords: the rest ignored")
            break
        seen[word.casefold()] = word
    return tuple(seen.values())


@dataclass(frozen=True)
class _XmpWords:
    keywords: tuple[str, ...] = ()
    title: str = ""
    description: str = ""


def _xmp_words(raw: bytes) -> _XmpWords:
    """dc:subject and the leaves of lr:hierarchicalSubject, dc:title and dc:description.
    An unreadable packet gives nothing here: read_xmp (the provenance analyzer) parses the
    same packet and notes why."""
    if not raw:
        return _XmpWords()
    try:
        from defusedxml import ElementTree  # entity bombs and external entities refused

        root = ElementTree.fromstring(raw.strip(b"\0 \r\n\t"))
    except Exception:  # ImportError, ParseError, or defusedxml's refusals: noted by read_xmp
        return _XmpWords()
    subjects = _items(root, "dc", "subject")
    leaves = [path.rsplit(HIERARCHY_SEPARATOR, 1)[-1] for path in _items(root, "lr", "hierarchicalSubject")]
    return _XmpWords(tuple(subjects + leaves), _lang_alt(root, "title"), _lang_alt(root, "description"))


def _items(root: Any, ns: str, name: str) -> list[str]:
    """The rdf:li texts of every bag or sequence named `ns:name`."""
    return [
        "".join(li.itertext())
        for element in root.iter(f"{{{NS[ns]}}}{name}")
        for li in element.iter(f"{{{NS['rdf']}}}li")
    ]


def _lang_alt(root: Any, name: str) -> str:
    """A dc: language alternative: the x-default entry, else the first; some writers put a
    plain value, or an attribute of rdf:Description, instead."""
    tag = f"{{{NS['dc']}}}{name}"
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        if tag in description.attrib:
            return str(description.attrib[tag])
    for element in root.iter(tag):
        entries = list(element.iter(f"{{{NS['rdf']}}}li"))
        default = [li for li in entries if li.get(f"{{{NS['xml']}}}lang") == "x-default"]
        for li in default + entries:
            text = "".join(li.itertext())
            if text.strip():
                return text
        text = "".join(element.itertext())
        if text.strip():
            return text
    return ""
