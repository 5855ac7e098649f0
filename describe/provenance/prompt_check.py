"""Prompt versus picture: which things a generation prompt asks for the image shows.

Each thing the prompt asks for (describe/provenance/prompt_phrases.py) is

- *seen* when the analyzers found it: a detected object, a classifier label or one of
  its WordNet ancestors (a "dog" is seen in a beagle), a setting word, something a
  vision-language captioner named, or, for quoted text, an OCR line;
- *not seen* when the models could have recognised it (a COCO class, an ImageNet class,
  a synonym or an ancestor of one) and nothing matches;
- *can't tell* when it is outside what the models know ("a sunlit loft", "a viewer").

A colour asked for is compared with the colour of the thing's detection box, and a
count ("two people") with the detector's count; a difference is reported in `differs`.

With a captioner that grounds phrases (Florence-2's `<CAPTION_TO_PHRASE_GROUNDING>`), a
phrase it places in the picture is also *seen*, with "grounding" evidence, when the rule
above can't tell. Grounding never overrules the other way: a phrase it does not place
stays as the rule decides (Florence misses things), and a *not seen* stays not seen
(grounding is trained on captions that are true of the image, so it tends to place any
phrase it is given; the models that know the thing looked and did not find it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Protocol, runtime_checkable

import msgspec

from describe.errors import ModelError
from describe.facts import (
    CANT_TELL,
    NOT_SEEN,
    SEEN,
    Box,
    Evidence,
    Facts,
    PromptCheck,
    PromptItem,
    Provenance,
)
from describe.intake import PreparedImage
from describe.knowledge.hypernyms import hypernyms
from describe.knowledge.taxonomy import taxonomy
from describe.knowledge.vocabulary import normalise_tag, setting_words
from describe.provenance.prompt_phrases import Phrase, candidates, split_prompt

# a classifier label (best of image and crops) this likely counts as seen, with its ancestors
LABEL_EVIDENCE = 0.1
OBJECT_EVIDENCE = 0.3  # the tag threshold: what the describer already calls present
CAPTION_EVIDENCE = 0.5  # things a vision-language captioner named carry no score
COLOUR_COVERAGE = 0.1
COLOUR_WORDS = {"red": "red", "orange": "orange", "yellow": "yellow", "green": "green", "blue": "blue",
                "purple": "purple", "violet": "purple", "pink": "pink", "brown": "brown", "black": "black",
                "white": "white", "gray": "gray", "grey": "gray", "beige": "beige"}  # fmt: skip
_WORD = re.compile(r"[a-z]+(?:[ -][a-z]+)*")
GROUNDING = "grounding"  # Evidence.kind of a phrase a captioner placed in the picture

#: the boxes a captioner placed for each phrase (one list per phrase), for one image
Grounder = Callable[[Sequence[str]], Sequence[Sequence[Box]]]


@runtime_checkable
class PhraseGrounder(Protocol):
    """A captioner that can place phrases in an image (Florence-2)."""

    def ground(self, image: PreparedImage, phrases: Sequence[str]) -> Sequence[Sequence[Box]]: ...


@cache
def known_things() -> frozenset[str]:
    """Everything the classic models can name: COCO and ImageNet classes, their synonyms
    and ancestors, normalised as tags are."""
    from describe.knowledge.labels import coco_labels, model_file

    names: set[str] = set(coco_labels().values())
    names.update(w for index in range(len(taxonomy().by_index)) for w in hypernyms(index))
    names.update(taxonomy().names.values())
    try:
        for line in model_file("efficientnet_labels.txt").read_text(encoding="utf-8").splitlines():
            names.update(s.strip() for s in line.split(","))
    except (ModelError, OSError):
        pass  # without the classifier's label file, its ancestors still cover the common words
    return frozenset(normalise_tag(n) for n in names if n.strip())


def _evidence(facts: Facts) -> dict[str, list[Evidence]]:
    """Normalised word → what the analyzers found that names it."""
    found: dict[str, list[Evidence]] = {}

    def add(words: Iterable[str], ev: Evidence) -> None:
        for word in words:
            key = normalise_tag(word)
            if key and ev not in found.setdefault(key, []):
                found[key].append(ev)

    if facts.objects:
        for c in facts.objects.counts:
            if c.score >= OBJECT_EVIDENCE:
                add([c.label], Evidence("object", c.label, round(c.score, 3)))
    if facts.labels:
        for lb in facts.labels.labels:
            if lb.best >= LABEL_EVIDENCE:
                ev = Evidence("label", lb.name, round(lb.best, 3))
                add([lb.name, *lb.synonyms, *lb.hypernyms, *setting_words(lb.name)], ev)
    if facts.caption:
        for name in facts.caption.objects:
            add([name], Evidence("caption", name, CAPTION_EVIDENCE))
        if facts.caption.vlm:  # a VLM's paragraph names what it saw: its words are evidence
            for phrase in _WORD.findall(facts.caption.text.lower()):
                words = phrase.split()
                for size in (1, 2):
                    grams = [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
                    add(grams, Evidence("caption", facts.caption.source, CAPTION_EVIDENCE))
    return found


def _read_text(facts: Facts) -> str | None:
    """What OCR (or a VLM) read, folded for comparison; None when nothing tried to read."""
    if facts.text is None and not (facts.caption and facts.caption.ocr):
        return None
    raw = (facts.text.text if facts.text else "") + " " + (facts.caption.ocr if facts.caption else "")
    return " ".join(raw.lower().split())


def _check_quoted(phrase: Phrase, facts: Facts) -> PromptItem:
    wanted = " ".join(phrase.words[0].lower().split())
    read = _read_text(facts)
    if read is None:
        return PromptItem(phrase.text, wanted, CANT_TELL)
    if wanted in read:
        return PromptItem(phrase.text, wanted, SEEN, (Evidence("text", phrase.words[0]),))
    return PromptItem(phrase.text, wanted, NOT_SEEN)


def _differs(
    thing: str, colours: list[str], count: int | None, facts: Facts
) -> tuple[list[Evidence], list[str]]:
    """Colour and count of the thing as detected, against what the prompt asks."""
    evidence: list[Evidence] = []
    differs: list[str] = []
    boxes = facts.objects.objects if facts.objects else ()
    box_colours = facts.colours.object_colours if facts.colours else ()
    mine = [i for i, o in enumerate(boxes) if normalise_tag(o.label) == thing]
    seen_colours = {box_colours[i] for i in mine if i < len(box_colours) and box_colours[i]}
    palette = (
        {c.family for c in facts.colours.palette if c.coverage >= COLOUR_COVERAGE} if facts.colours else set()
    )
    for colour in colours:
        if colour in seen_colours or (not seen_colours and colour in palette):
            evidence.append(Evidence("colour", colour))
        elif seen_colours:  # the box's colour is known and is another one
            differs.append(colour)
    if count is not None and count > 1 and mine and len(mine) != count:
        differs.append("count")
    return evidence, differs


def _check(
    phrase: Phrase, found: dict[str, list[Evidence]], known: frozenset[str], facts: Facts
) -> PromptItem:
    if phrase.quoted:
        return _check_quoted(phrase, facts)
    fallback: PromptItem | None = None
    for thing, attributes in candidates(phrase.words):
        key = normalise_tag(thing)
        colours = [COLOUR_WORDS[a] for a in attributes if a in COLOUR_WORDS]
        if key in found:
            extra, differs = _differs(key, colours, phrase.count, facts)
            evidence = tuple(found[key]) + tuple(extra)
            return PromptItem(phrase.text, key, SEEN, evidence, phrase.count, attributes, tuple(differs))
        if fallback is None and key in known:
            fallback = PromptItem(phrase.text, key, NOT_SEEN, (), phrase.count, attributes)
    if fallback is not None:
        return fallback
    thing, attributes = candidates(phrase.words)[-1]
    return PromptItem(phrase.text, normalise_tag(thing), CANT_TELL, (), phrase.count, attributes)


def _grounded(phrases: list[Phrase], items: list[PromptItem], ground: Grounder) -> list[PromptItem]:
    """`items` with what the grounder placed: evidence for the seen, *seen* for the can't
    tell; a miss changes nothing and a not seen stays (the module's docstring says why)."""
    asked = [i for i, p in enumerate(phrases) if not p.quoted]  # written text is OCR's to check
    if not asked:
        return items
    placed = ground([phrases[i].text for i in asked])
    out = list(items)
    for i, boxes in zip(asked, placed, strict=True):
        item = out[i]
        if boxes and item.status != NOT_SEEN:
            evidence = (*item.evidence, Evidence(GROUNDING, phrases[i].text))
            out[i] = msgspec.structs.replace(item, status=SEEN, evidence=evidence)
    return out


def check_prompt(
    provenance: Provenance | None, facts: Facts, ground: Grounder | None = None
) -> PromptCheck | None:
    """The check of the prompt in `provenance` against `facts`; None without a prompt.
    `ground`: a captioner's phrase grounding for this image, asked once for all phrases."""
    if provenance is None or not provenance.prompt.strip():
        return None
    found = _evidence(facts)
    known = known_things()
    phrases = split_prompt(provenance.prompt)
    items = [_check(p, found, known, facts) for p in phrases]
    if ground is not None:
        items = _grounded(phrases, items, ground)
    seen = sum(i.status == SEEN for i in items)
    missing = sum(i.status == NOT_SEEN for i in items)
    return PromptCheck(
        prompt=provenance.prompt,
        source=provenance.source,
        items=tuple(items),
        score=round(seen / (seen + missing), 3) if seen + missing else None,
        mismatch=bool(missing) or any(i.differs for i in items),
    )
