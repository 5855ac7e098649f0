"""Description → point: the documents and vectors every caller (indexer, re-embed,
evaluation) stores."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.points import (
    LABEL_PHRASE,
    PointEncoder,
    document_text,
    focus_text,
    reembedded,
    stored_image,
)
from describe.facts import Description, DetectedObject, Label, ObjectCount
from tests.fakes import HashEmbedder, make_description

DAISY = Label("daisy", 0.6, "plant", region_score=0.7, hypernyms=("flower", "plant"))
VASE = Label("vase", 0.2, "object", hypernyms=("jar",))
MISSILE = Label("missile", 0.05, "object", region_score=0.08, hypernyms=("weapon",))
GOLDFISH = Label("goldfish", 0.12, "animal", hypernyms=("fish",))


def description(labels: list[Label], text: str = "", caption: str = "An image of a daisy.") -> Description:
    return make_description(
        caption,
        tags=["daisy", "flower", "white"],
        labels=labels,
        objects=[ObjectCount("potted plant", 1, 0.8)],
        text=text,
        rest=" The main colour is white.",
    )


def payload(labels: list[Label], text: str = "") -> object:
    boxes = [DetectedObject("potted plant", 0.8, (0, 0, 1, 1)), DetectedObject("cup", 0.3, (0, 0, 0.1, 0.1))]
    return stored_image(description(labels, text), sha256="ab" * 32, paths=["a/b.jpg"], boxes=boxes)


def test_stored_image_keeps_the_description_and_the_boxes() -> None:
    p = payload([DAISY])
    assert p.filename == "b.jpg" and p.paths == ["a/b.jpg"]
    assert p.caption == "An image of a daisy." and p.labels == [DAISY]
    assert [b.label for b in p.boxes] == ["potted plant", "cup"]
    assert (p.width, p.height) == (640, 480)  # the description's size when no original is given


def test_the_recall_document_has_every_candidate_and_likely_ancestors() -> None:
    doc = document_text(payload([DAISY, VASE, MISSILE], text="SALE\n50%"))
    assert doc.startswith("An image of a daisy.")
    assert "Tags: daisy, flower, white" in doc
    labels = doc.split("Labels: ")[1].split("\n")[0].split(", ")
    # tags are not repeated; candidates below the hypernym floor keep their name only
    assert labels == ["vase", "missile", "plant", "jar"]
    assert "weapon" not in doc
    assert doc.endswith("Text: SALE 50%")


def test_the_focus_document_is_the_confident_facts_only() -> None:
    assert focus_text(payload([VASE, DAISY, MISSILE, GOLDFISH], text="SALE")) == (
        "A photo of daisy, vase, goldfish. Objects: potted plant. Text: SALE"
    )
    assert focus_text(payload([MISSILE])) == "Objects: potted plant."


def test_label_vector_is_the_probability_weighted_mean_of_label_phrases() -> None:
    embedder = HashEmbedder(dim=32)
    encoder = PointEncoder(embedder)
    vector = np.asarray(encoder.label_vector([DAISY, VASE]))
    words = ["daisy", "flower", "plant", "vase", "jar"]
    daisy, flower, plant, vase, jar = (
        np.asarray(v) for v in embedder.embed([LABEL_PHRASE.format(w) for w in words])
    )
    # each label at its probability, its two nearest ancestors at half of it
    mass = DAISY.best * 2 + VASE.best * 1.5
    expected = (DAISY.best * (daisy + (flower + plant) / 2) + VASE.best * (vase + jar / 2)) / mass
    assert vector == pytest.approx(expected, abs=1e-5)
    assert encoder.label_vector([]) is None


def test_label_phrases_are_embedded_once() -> None:
    embedder = HashEmbedder()
    encoder = PointEncoder(embedder)
    encoder.label_vector([DAISY, VASE])
    calls = embedder.calls
    encoder.label_vector([VASE, DAISY])
    assert embedder.calls == calls


def test_points_carry_four_views() -> None:
    embedder = HashEmbedder(dim=32)
    p = payload([DAISY], text="SALE")
    [point] = PointEncoder(embedder).points([("id-1", p)])
    assert point.id == "id-1" and point.payload is p
    assert point.dense == embedder.embed_one(document_text(p))
    assert point.focus == embedder.embed_one(focus_text(p))
    assert point.labels is not None and len(point.labels) == 32
    assert point.sparse.indices  # the recall document's terms
    [bare] = PointEncoder(embedder).points([("id-2", payload([]))])
    assert bare.labels is None


def test_reembedded_records_the_model() -> None:
    p = reembedded(payload([DAISY]), "other-model", "2026-01-01T00:00:00Z")
    assert p.embedding_model == "other-model" and p.indexed_at == "2026-01-01T00:00:00Z"


def test_the_prompt_is_sparse_only_and_weighs_less_than_what_is_seen() -> None:
    from msgspec.structs import replace

    from catalog.embed import sparse_vector
    from catalog.points import PROMPT_SPARSE_WEIGHT, sparse_terms
    from describe.facts import PromptCheck

    check = PromptCheck(
        prompt="a (zebra:1.3) beside a daisy <lora:x:0.5>", source="file:a1111", mismatch=True
    )
    main = replace(description([DAISY]), prompt_check=check)
    p = stored_image(main, sha256="cd" * 32, paths=["z.png"])
    assert p.prompt_check == check  # kept in the payload for the image page
    assert "zebra" not in document_text(p) and "zebra" not in focus_text(p)
    doc = document_text(p)
    weights = dict(zip(sparse_terms(p, doc).indices, sparse_terms(p, doc).values, strict=True))
    plain = dict(zip(sparse_vector(doc).indices, sparse_vector(doc).values, strict=True))
    [zebra] = sparse_vector("zebra").indices
    [daisy] = sparse_vector("daisy").indices
    [lora] = sparse_vector("lora").indices
    assert zebra not in plain and 0 < weights[zebra] <= PROMPT_SPARSE_WEIGHT * 2.5
    assert weights[zebra] < plain[daisy] < weights[daisy]  # a prompt word adds to a seen one
    assert lora not in weights  # the LoRA tag is syntax, not a word of the prompt
    # an older payload without the field decodes, and indexes as before
    from catalog.store.base import decode_payload

    old = decode_payload({"sha256": "ab", "paths": ["a.jpg"], "filename": "a.jpg", "description": "x"})
    assert old.prompt_check is None and old.provenance is None
    assert sparse_terms(old, "x") == sparse_vector("x")


def test_a_creatives_reading_is_kept_in_the_stored_record() -> None:
    """GET /api/images/{id} and exports show what POST /api/describe shows: its kind,
    format and the parts of its text."""
    import msgspec

    from catalog.store.base import decode_payload
    from describe.facts import CreativeFacts, CreativePart

    creative = CreativeFacts(
        kind="ad", format="square", parts=(CreativePart(role="cta", text="Shop now"),), subject="sneakers"
    )
    description = msgspec.structs.replace(make_description("An ad for sneakers."), creative=creative)
    payload = stored_image(description, sha256="ab" * 32, paths=["ad.png"])
    assert decode_payload(msgspec.to_builtins(payload)).creative == creative
