"""Description → store point: the one mapping the indexer, re-embedding and the
evaluation all use, so what search is measured on is what the product stores.

A point carries four views of the same image, each searched separately and fused
by search/ with calibrated weights:

- ``dense``: the recall view. The caption, the tags, every label candidate (crops
  included, down to p ≈ 0.03) with the WordNet ancestors of the likelier ones, and
  the visible text. Written for recall: search ranks, it does not assert.
- ``focus``: the precision view. Only what the models are sure of: the top three
  whole-image labels over p = 0.1, the detected objects and the visible text, in one
  short sentence. A long recall document blurs a plain query ("exit sign", "price
  tag"); this one doesn't.
- ``labels``: the classifier's whole label distribution as one vector (ConSE,
  Norouzi et al. 2014): the candidates' probabilities times the embeddings of
  "a photo of a {label}", divided by the probability mass. Scored by dot product, so
  a query's score is the probability-weighted mean of its similarity to each label:
  it uses the distribution instead of words cut at a threshold.
- ``sparse``: BM25 term weights of the recall document, for exact words (OCR text,
  rare names) the sentence model blurs; plus the words of the title and description the
  file carries (FILE_TEXT_SPARSE_WEIGHT) and, at PROMPT_SPARSE_WEIGHT, those of the
  generation prompt. The prompt is in no dense view: it says what was asked for, not
  what the image shows, so a search for its words finds the image below the images
  that are seen to show them.

Optionally a fifth, ``image``: the image embedding of an image-text model (the SigLIP 2
tagger, describe/analyzers/siglip/), searched with the same model's text tower — the
pixels themselves rather than what the analyzers said about them. Only points described
with the tagger carry it; indexer/image_vectors.py fills it in for the others.

A person's edits (catalog/edits.py) count in every text view: their description stands
in for the caption, their tags join the documents, and a tag they removed leaves the
labels, the objects and the label vector too (the payload keeps what the machine said).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import numpy as np
from msgspec.structs import replace

from catalog import phrase_cache
from catalog.embed import Embedder, TextEmbedder, sparse_vector
from catalog.store.base import Fingerprint, ImagePoint, SparseVector, StoredImage
from describe.facts import Description, DetectedObject, Label, ZeroShotFacts
from describe.knowledge.vocabulary import normalise_tag
from describe.provenance.prompt_phrases import clean

# Ancestors of labels at least this likely (best of image and crops) join the recall
# document; below it a label's ancestors are mostly wrong guesses ("missile" → weapon).
HYPERNYM_MIN_SCORE = 0.1
# The precision view: the naive reading of the classifier and the detector.
FOCUS_LABELS = 3
FOCUS_LABEL_SCORE = 0.1
FOCUS_OBJECT_SCORE = 0.4
LABEL_PHRASE = "a photo of a {}"
LABEL_VECTOR_HYPERNYMS = 2
HYPERNYM_WEIGHT = 0.5
_LABEL_CACHE_SIZE = 4096  # distinct label names seen; ImageNet has 1000
# A prompt word weighs this much of a recall-document word in the sparse view.
PROMPT_SPARSE_WEIGHT = 0.5
# A word of the file's own title or description (a person wrote it about this picture)
# weighs as much as a recall-document word; it is in the sparse view only, like the
# prompt, so the dense views stay what the models saw.
FILE_TEXT_SPARSE_WEIGHT = 1.0


def stored_image(
    main: Description,
    *,
    sha256: str,
    paths: list[str],
    alt: str = "",
    boxes: Sequence[DetectedObject] = (),
    width: int = 0,
    height: int = 0,
    size_bytes: int = 0,
    described_at: str = "",
    indexed_at: str = "",
    embedding_model: str = "",
    describer_version: str = "",
    zero_shot: ZeroShotFacts | None = None,
    fingerprint: Fingerprint | None = None,
) -> StoredImage:
    """The payload for one image content. `width`/`height` are the original file's
    (the description's are the working copy's) when the caller knows them. `zero_shot`:
    the tagger's facts, whose model is recorded as the point's image_model. `fingerprint`:
    the picture's perceptual hashes (catalog/fingerprint.py)."""
    return StoredImage(
        sha256=sha256,
        paths=paths,
        filename=PurePosixPath(paths[0]).name if paths else "",
        description=main.description,
        alt=alt,
        caption=main.caption or "",
        tags=main.tags,
        tag_details=main.tag_details,
        colors=main.colors,
        objects=main.objects,
        boxes=list(boxes),
        labels=main.labels,
        text=main.text,
        composition=main.composition,
        captioner=main.captioner,
        profile=main.profile,
        width=width or main.width,
        height=height or main.height,
        size_bytes=size_bytes,
        timings_ms=main.timings_ms,
        described_at=described_at,
        indexed_at=indexed_at,
        embedding_model=embedding_model,
        image_model=zero_shot.model if zero_shot and zero_shot.embedding else "",
        describer_version=describer_version,
        prompt_check=main.prompt_check,
        provenance=main.provenance,
        creative=main.creative,
        machine_description=main.description,
        machine_tags=main.tags,
        fingerprint=fingerprint,
    )


def image_vector(zero_shot: ZeroShotFacts | None) -> list[float] | None:
    """The tagger's image embedding as the point's IMAGE vector; None without one."""
    return list(zero_shot.embedding) if zero_shot and zero_shot.embedding else None


def _words(labels: Sequence[Label]) -> list[str]:
    words = [lb.name for lb in labels]
    words += [w for lb in labels if lb.best >= HYPERNYM_MIN_SCORE for w in lb.hypernyms]
    return list(dict.fromkeys(words))


def said(p: StoredImage) -> str:
    """The image in words: the description a person wrote (catalog/edits.py), else the
    caption, else the paragraph."""
    return p.description if p.edit and p.edit.description is not None else (p.caption or p.description)


def _removed(p: StoredImage) -> set[str]:
    return set(p.edit.remove_tags) if p.edit else set()


def kept_labels(p: StoredImage) -> Sequence[Label]:
    """The label candidates, less those a person removed as tags (and removed ancestors):
    no view says what a person said the picture is not."""
    removed = _removed(p)
    if not removed:
        return p.labels
    return [
        replace(lb, hypernyms=tuple(h for h in lb.hypernyms if normalise_tag(h) not in removed))
        for lb in p.labels
        if normalise_tag(lb.name) not in removed
    ]


def document_text(p: StoredImage) -> str:
    """The recall document: caption, tags, label candidates with their ancestors, text.
    Not the whole paragraph: its framing and colour sentences are alike across images
    and blur the vectors (colours still match through the tags)."""
    tags = set(p.tags)
    labels = [w for w in _words(kept_labels(p)) if w.lower() not in tags]
    parts = [
        said(p),
        "Tags: " + ", ".join(p.tags) if p.tags else "",
        "Labels: " + ", ".join(labels) if labels else "",
        f"Text: {' '.join(p.text.split())}" if p.text.strip() else "",
    ]
    return "\n".join(part for part in parts if part)


def prompt_text(p: StoredImage) -> str:
    """The generation prompt's words, without A1111 weights and LoRA tags; "" without one."""
    return clean(p.prompt_check.prompt) if p.prompt_check else ""


def file_text(p: StoredImage) -> str:
    """The title and description the file itself carries (describe/provenance/keywords.py);
    the description only when the provenance did not take it as the prompt (an XMP
    dc:description is both), which weighs less. "" without either."""
    prov = p.provenance
    if prov is None:
        return ""
    description = prov.file_description
    if " ".join(description.split()) == " ".join(prov.prompt.split()):
        description = ""
    return "\n".join(text for text in (prov.title, description) if text)


def sparse_terms(p: StoredImage, document: str) -> SparseVector:
    """The recall document's term weights, plus the file's own title and description at
    FILE_TEXT_SPARSE_WEIGHT and the prompt's at PROMPT_SPARSE_WEIGHT."""
    base = sparse_vector(document)
    extras = [
        (text, weight)
        for text, weight in ((file_text(p), FILE_TEXT_SPARSE_WEIGHT), (prompt_text(p), PROMPT_SPARSE_WEIGHT))
        if text
    ]
    if not extras:
        return base
    weights = dict(zip(base.indices, base.values, strict=True))
    for text, weight in extras:
        extra = sparse_vector(text)
        for index, value in zip(extra.indices, extra.values, strict=True):
            weights[index] = round(weights.get(index, 0.0) + value * weight, 4)
    ordered = sorted(weights.items())
    return SparseVector(indices=[i for i, _ in ordered], values=[v for _, v in ordered])


def focus_text(p: StoredImage) -> str:
    """The precision document: 'A photo of daisy, pot. Objects: potted plant. Text: …'."""
    sure = sorted((lb for lb in kept_labels(p) if lb.score > FOCUS_LABEL_SCORE), key=lambda lb: -lb.score)
    objects = dict.fromkeys(b.label for b in p.boxes if b.score > FOCUS_OBJECT_SCORE)
    if not objects:  # points without boxes (older payloads) still have the counts
        objects = dict.fromkeys(c.label for c in p.objects if c.score > FOCUS_OBJECT_SCORE)
    removed = _removed(p)
    if removed:
        objects = {o: None for o in objects if normalise_tag(o) not in removed}
    added = p.edit.add_tags if p.edit else []  # a person's tags are as sure as anything here
    parts = [
        "A photo of " + ", ".join(lb.name for lb in sure[:FOCUS_LABELS]) + "." if sure else "",
        "Objects: " + ", ".join(objects) + "." if objects else "",
        "Tagged: " + ", ".join(added) + "." if added else "",
        f"Text: {' '.join(p.text.split())}" if p.text.strip() else "",
    ]
    return " ".join(part for part in parts if part) or said(p)


class PointEncoder:
    """Embeds payloads into points. Keeps the embeddings of label phrases, which
    repeat across images (1000 ImageNet classes), so each is computed once; with
    `phrases_file`, once per model (catalog/phrase_cache.py)."""

    def __init__(self, embedder: TextEmbedder, phrases_file: Path | None = None) -> None:
        self.embedder = embedder
        self.phrases_file = phrases_file
        self._label_vectors: OrderedDict[str, np.ndarray] = OrderedDict(
            phrase_cache.load(phrases_file, embedder.name, LABEL_PHRASE) if phrases_file else {}
        )

    def points(
        self, items: Sequence[tuple[str, StoredImage]], images: Mapping[str, list[float]] | None = None
    ) -> list[ImagePoint]:
        """One batch: both documents of every image are embedded in one call. `images`: the
        IMAGE vector by point id (from image_vector(), or kept from the store by
        Store.image_vectors() when re-embedding text); a point without one records no
        image_model, so indexer/image_vectors.py gives it one later."""
        if not items:
            return []
        images = images or {}
        items = [
            (pid, p if pid in images or not p.image_model else replace(p, image_model="")) for pid, p in items
        ]
        documents = [document_text(p) for _, p in items]
        vectors = self.embedder.embed(documents + [focus_text(p) for _, p in items])
        dense, focus = vectors[: len(items)], vectors[len(items) :]
        return [
            ImagePoint(
                id=pid,
                dense=d,
                sparse=sparse_terms(p, doc),
                payload=p,
                focus=f,
                labels=self.label_vector(kept_labels(p)),
                image=images.get(pid),
            )
            for (pid, p), doc, d, f in zip(items, documents, dense, focus, strict=True)
        ]

    def point(self, pid: str, payload: StoredImage, image: list[float] | None = None) -> ImagePoint:
        return self.points([(pid, payload)], {pid: image} if image is not None else None)[0]

    def label_vector(self, labels: Sequence[Label]) -> list[float] | None:
        """Σ p·e(word) / Σ p over the candidates and their nearest ancestors (at half the
        label's probability: a daisy is a flower, but "flower" says less); None for an
        image without labels. The ancestors added 0.007–0.016 MRR on the dev sets."""
        mass: dict[str, float] = {}
        for lb in labels:
            mass[lb.name] = mass.get(lb.name, 0.0) + lb.best
            for word in lb.hypernyms[:LABEL_VECTOR_HYPERNYMS]:
                mass[word] = mass.get(word, 0.0) + lb.best * HYPERNYM_WEIGHT
        weights = np.array(list(mass.values()), dtype=np.float32)
        if not mass or float(weights.sum()) <= 0.0:
            return None
        phrases = self._phrases(list(mass))
        return [float(v) for v in (weights @ phrases) / weights.sum()]

    def _phrases(self, names: list[str]) -> np.ndarray:
        cache = self._label_vectors
        missing = [n for n in dict.fromkeys(names) if n not in cache]
        for name in names:
            if name in cache:
                cache.move_to_end(name)
        if missing:
            texts = [LABEL_PHRASE.format(n) for n in missing]
            for name, vector in zip(missing, self.embedder.embed(texts), strict=True):
                cache[name] = np.asarray(vector, dtype=np.float32)
            if self.phrases_file is not None:
                phrase_cache.save(self.phrases_file, self.embedder.name, LABEL_PHRASE, dict(cache))
        found = np.stack([cache[n] for n in names])
        while len(cache) > _LABEL_CACHE_SIZE:  # after use: this call's names are the newest
            cache.popitem(last=False)
        return found


def point_encoder(embedder: TextEmbedder) -> PointEncoder:
    """The indexer's and the Ray workers' encoder: label phrase vectors persist where the
    embedder has a place for them (the default model's cache folder)."""
    phrases = embedder.label_phrase_file() if isinstance(embedder, Embedder) else None
    return PointEncoder(embedder, phrases)


def reembedded(payload: StoredImage, model: str, indexed_at: str) -> StoredImage:
    return replace(payload, embedding_model=model, indexed_at=indexed_at)
