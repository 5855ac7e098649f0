"""An XMP sidecar for one stored image, merged into the sidecar already there.

What imgdesc writes, and so owns:

- ``dc:description``: the effective description, as the x-default entry of the language
  alternative (another language's entry stays);
- ``dc:subject``: the effective tags. Keywords someone else put there (darktable,
  digiKam) stay: only the tags imgdesc wrote last time (its ``imgdesc:Tags``) are taken
  out before the current ones go in, so a tag a person removed in imgdesc goes away;
- ``xmp:CreatorTool``: "imgdesc <version>";
- ``Iptc4xmpExt:DigitalSourceType``: trainedAlgorithmicMedia when the image is known to
  be AI-generated (its provenance, or the ``ai-generated`` tag); left as it was otherwise;
- every property in the ``imgdesc:`` namespace, which keeps what the machine said apart
  from what a person changed: the machine's description and tags, each tag's source and
  score, the captioner, profile and models, the prompt and its check score, the edit.

Everything else in an existing sidecar (a rating, a creator, an editor's history) is
kept as it was, its namespace prefixes too. Written with ElementTree; an existing
sidecar is read with defusedxml (entity bombs and external entities refused).
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from xml.etree import ElementTree as ET

from catalog.store.base import StoredImage

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    # imgdesc's own properties; a namespace name needs to be unique, not to resolve
    "imgdesc": "http://ns.imgdesc.invalid/1.0/",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
AI_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
AI_TAG = "ai-generated"  # describe/render/tags.py's tag for a file marked AI-generated
# prefixes ElementTree keeps for itself (it names unknown namespaces ns0, ns1, …)
_RESERVED_PREFIX = re.compile(r"ns\d+$")
# characters XML 1.0 cannot hold at all (a person's text may carry them): left out
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

try:
    VERSION = version("imgdesc")
except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
    VERSION = "0"
CREATOR_TOOL = f"imgdesc {VERSION}"

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


class SidecarError(ValueError):
    """An existing sidecar that is not XMP imgdesc can merge into."""


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


RDF_DESCRIPTION, RDF_LI = _q("rdf", "Description"), _q("rdf", "li")
# properties imgdesc replaces; anything in the imgdesc namespace is imgdesc's too
OWNED = frozenset({_q("dc", "description"), _q("dc", "subject"), _q("xmp", "CreatorTool")})


def sidecar(point_id: str, p: StoredImage, existing: bytes | None = None) -> bytes:
    """The sidecar's bytes: a new one, or `existing` with imgdesc's properties replaced.
    Raises SidecarError when `existing` cannot be read as XMP."""
    root = _parse(existing) if existing else _new_root()
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
    if rdf is None:
        raise SidecarError("no rdf:RDF element: not an XMP packet")
    descriptions = rdf.findall(RDF_DESCRIPTION)
    previous = _previous_tags(descriptions)
    other_languages = [li for d in descriptions for li in _lang_entries(d) if li.get(XML_LANG) != "x-default"]
    kept_subjects = [s for s in _subjects(descriptions) if s not in previous]
    for description in descriptions:
        _drop_owned(description, ai=_is_ai(p))
    target = (
        descriptions[0] if descriptions else ET.SubElement(rdf, RDF_DESCRIPTION, {_q("rdf", "about"): ""})
    )
    _write(target, point_id, p, other_languages, kept_subjects)
    ET.indent(root, space=" ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
        root, encoding="utf-8", xml_declaration=False
    )


def _new_root() -> ET.Element:
    root = ET.Element(_q("x", "xmpmeta"), {_q("x", "xmptk"): CREATOR_TOOL})
    ET.SubElement(root, _q("rdf", "RDF"))
    return root


def _parse(existing: bytes) -> ET.Element:
    """The existing sidecar, its namespace prefixes registered so that they are written
    back as they were (ElementTree would rename them ns0, ns1, …)."""
    import io

    from defusedxml import ElementTree as SafeET

    try:
        for _event, (prefix, uri) in SafeET.iterparse(io.BytesIO(existing), events=("start-ns",)):
            if prefix and prefix not in NS and not _RESERVED_PREFIX.match(prefix) and uri not in NS.values():
                ET.register_namespace(prefix, uri)
        root: ET.Element = SafeET.fromstring(existing)
    except Exception as exc:  # ParseError, or defusedxml's refusals (DTDForbidden, …)
        raise SidecarError(f"unreadable XMP ({type(exc).__name__}: {exc})") from None
    return root


def _is_ai(p: StoredImage) -> bool:
    return bool(p.provenance and p.provenance.ai_generated) or AI_TAG in p.tags


def _previous_tags(descriptions: list[ET.Element]) -> set[str]:
    """The tag names imgdesc wrote into dc:subject last time (its imgdesc:Tags)."""
    names: set[str] = set()
    for description in descriptions:
        for tags in description.iter(_q("imgdesc", "Tags")):
            names.update(n.text or "" for n in tags.iter(_q("imgdesc", "Name")))
    return names


def _subjects(descriptions: list[ET.Element]) -> list[str]:
    return [
        li.text or ""
        for description in descriptions
        for subject in description.findall(_q("dc", "subject"))
        for li in subject.iter(RDF_LI)
    ]


def _lang_entries(description: ET.Element) -> list[ET.Element]:
    return [li for element in description.findall(_q("dc", "description")) for li in element.iter(RDF_LI)]


def _drop_owned(description: ET.Element, ai: bool) -> None:
    owned = set(OWNED) | ({_q("Iptc4xmpExt", "DigitalSourceType")} if ai else set())
    for name in list(description.attrib):
        if name in owned or name.startswith(f"{{{NS['imgdesc']}}}"):
            del description.attrib[name]
    for child in list(description):
        if child.tag in owned or child.tag.startswith(f"{{{NS['imgdesc']}}}"):
            description.remove(child)


def _write(
    target: ET.Element, point_id: str, p: StoredImage, other_languages: list[ET.Element], subjects: list[str]
) -> None:
    alt = ET.SubElement(ET.SubElement(target, _q("dc", "description")), _q("rdf", "Alt"))
    _text(alt, RDF_LI, p.description)
    alt[-1].set(XML_LANG, "x-default")
    alt.extend(other_languages)
    _bag(target, _q("dc", "subject"), list(dict.fromkeys([*subjects, *p.tags])))
    _text(target, _q("xmp", "CreatorTool"), CREATOR_TOOL)
    if _is_ai(p):
        _text(target, _q("Iptc4xmpExt", "DigitalSourceType"), AI_SOURCE_TYPE)
    check = p.prompt_check
    prompt = check.prompt if check else (p.provenance.prompt if p.provenance else "")
    _props(
        target, ImageId=point_id, Sha256=p.sha256, MachineDescription=p.machine_description or p.description
    )
    _bag(target, _q("imgdesc", "MachineTags"), p.machine_tags or p.tags)
    details = {t.name: t for t in p.tag_details}
    tags = ET.SubElement(ET.SubElement(target, _q("imgdesc", "Tags")), _q("rdf", "Seq"))
    for name in p.tags:
        item = ET.SubElement(tags, RDF_LI, {_q("rdf", "parseType"): "Resource"})
        _text(item, _q("imgdesc", "Name"), name)
        if name in details:
            _props(item, Source=details[name].source, Score=f"{details[name].score:g}")
    _props(
        target,
        Captioner=p.captioner,
        Profile=p.profile,
        DescriberVersion=p.describer_version,
        EmbeddingModel=p.embedding_model,
        ImageModel=p.image_model,
        DescribedAt=p.described_at,
        Prompt=prompt,
        PromptSource=check.source if check else "",
        PromptScore=f"{check.score:.3f}" if check and check.score is not None else "",
    )
    if p.edit is not None:
        _edit(target, p)


def _edit(target: ET.Element, p: StoredImage) -> None:
    """What a person changed, as a structure (rdf:parseType="Resource")."""
    assert p.edit is not None
    edit = ET.SubElement(target, _q("imgdesc", "Edit"), {_q("rdf", "parseType"): "Resource"})
    if p.edit.description is not None:
        _text(edit, _q("imgdesc", "Description"), p.edit.description)
    if p.edit.add_tags:
        _bag(edit, _q("imgdesc", "AddedTags"), p.edit.add_tags)
    if p.edit.remove_tags:
        _bag(edit, _q("imgdesc", "RemovedTags"), p.edit.remove_tags)
    _props(edit, EditedBy=p.edit.edited_by or "", EditedAt=p.edit.edited_at, CarriedFrom=p.edit.carried_from)


def _props(parent: ET.Element, **values: str) -> None:
    """imgdesc: properties, those with a value."""
    for name, value in values.items():
        if value:
            _text(parent, _q("imgdesc", name), value)


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = _XML_INVALID.sub("", value)


def _bag(parent: ET.Element, tag: str, items: list[str]) -> None:
    if items:
        bag = ET.SubElement(ET.SubElement(parent, tag), _q("rdf", "Bag"))
        for item in items:
            ET.SubElement(bag, RDF_LI).text = _XML_INVALID.sub("", item)
