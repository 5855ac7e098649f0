"""The naive baseline imgdesc is measured against: what anyone would build in an
afternoon from the same facts, with none of imgdesc's rendering, tags or search.

From the facts a describer run already computed (nothing is analysed twice): the
top-3 ImageNet labels with whole-image probability > 0.1, the COCO objects with score
> 0.4 and the OCR words, joined into one sentence — "A photo of daisy, pot, vase.
Objects: potted plant. Text: SUMMER SALE" — embedded with the same embedder and
ranked by plain cosine over every image: no relevance cut-off, no lexical side, no
fusion. Its tags are the label and object names.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from app.dev.evaluation import metrics, signals
from app.dev.evaluation.dataset import References
from app.dev.evaluation.results import ImageResult, RunResult, score_ranking, summarise
from catalog.embed import TextEmbedder
from describe.facts import Facts
from describe.knowledge.vocabulary import normalise_tag

NAME = "naive-baseline"
CHOICES = ("naive", "none")  # --baseline
TOP_LABELS = 3
MIN_LABEL_SCORE = 0.1  # on Label.score: the labels analyzer also returns weaker candidates
MIN_OBJECT_SCORE = 0.4
# (shown as, summary key): what the difference line and table report
COMPARED = (
    ("MRR", "mrr"),
    ("hit@1", "hit@1"),
    ("recall@5", "recall@5"),
    ("nDCG@5", "ndcg@5"),
    ("tag P", "tag_precision"),
    ("tag R", "tag_recall"),
    ("tag R +text", "tag_recall_text"),
)


def label_names(facts: Facts) -> list[str]:
    """The top labels by whole-image probability, above the threshold."""
    labels = facts.labels.labels if facts.labels else ()
    confident = sorted((lb for lb in labels if lb.score > MIN_LABEL_SCORE), key=lambda lb: -lb.score)
    return [lb.name for lb in confident[:TOP_LABELS]]


def object_names(facts: Facts) -> list[str]:
    """Distinct detected object labels above the threshold, in the detector's order. The
    baseline takes the detector as it is: the detections imgdesc doubts (ObjectFacts.doubted,
    describe/knowledge/crosscheck.py) count too."""
    found = facts.objects
    objects = sorted((*found.objects, *found.doubted), key=lambda o: -o.score) if found else []
    return list(dict.fromkeys(o.label for o in objects if o.score > MIN_OBJECT_SCORE))


def sentence(facts: Facts) -> str:
    """'A photo of daisy, pot, vase. Objects: potted plant. Text: SUMMER SALE', empty
    parts left out ('' when nothing was found)."""
    labels, objects = label_names(facts), object_names(facts)
    words = " ".join(facts.text.text.split()) if facts.text else ""
    parts = [
        f"A photo of {', '.join(labels)}" if labels else "",
        f"Objects: {', '.join(objects)}" if objects else "",
        f"Text: {words}" if words else "",
    ]
    return ". ".join(p for p in parts if p)


def tags(facts: Facts) -> list[str]:
    """The label and object names, normalised as imgdesc's own tags are."""
    return list(dict.fromkeys(normalise_tag(n) for n in [*label_names(facts), *object_names(facts)]))


def rank(documents: Mapping[str, np.ndarray], query: np.ndarray) -> list[str]:
    """Every document, best cosine first; ties keep the documents' order. A zero vector
    (an empty sentence) scores 0 against everything."""
    names = list(documents)
    if not names:
        return []
    matrix = np.stack([documents[n] for n in names])
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    scores = (matrix @ query) / np.where(norms == 0, 1.0, norms)
    return [names[i] for i in np.argsort(-scores, kind="stable")]


def run_baseline(
    facts: Mapping[str, Facts], source: RunResult, refs: References, embedder: TextEmbedder, k: int
) -> tuple[RunResult, dict[str, np.ndarray]]:
    """Score the baseline on the images `source` described (its facts) and the same
    queries. Returns the run and each image's sentence vector."""
    run = RunResult(captioner=NAME, profile="", load_s=0.0)
    by_name = {i.name: i for i in source.images}
    sentences: dict[str, str] = {}
    vectors: dict[str, np.ndarray] = {}
    for name in by_name:
        result = ImageResult(name=name, error=by_name[name].error)
        run.images.append(result)
        found = facts.get(name)
        if found is None:
            continue
        text = sentences[name] = sentence(found)
        result.description, result.tags, result.scored_tags = text, tags(found), tags(found)
        result.text = found.text.text if found.text else ""
        result.words = len(signals.words(text))
        # it needs the same analysis as the run it reuses: the same cost to describe
        result.describe_ms = by_name[name].describe_ms
        start = time.perf_counter()
        vectors[name] = np.asarray(embedder.embed_one(text) if text else np.zeros(embedder.dim), dtype=float)
        result.embed_ms = round((time.perf_counter() - start) * 1000, 1)
        ref = refs.images.get(name)
        if ref is not None and ref.tags:
            result.tag_score = metrics.group_scores(
                result.scored_tags, ref.tags, ref.acceptable, normalise_tag
            )
            result.text_recall = metrics.found_in_text(ref.tags, result.scored_tags, text, normalise_tag)
    for query in refs.queries:
        ranking = rank(vectors, np.asarray(embedder.embed_one(query.text), dtype=float))
        run.queries.append(score_ranking(query.text, query.relevant, ranking, k))
    for result in run.images:
        if result.name in vectors and sentences[result.name]:  # an empty sentence finds nothing
            ranking = rank(vectors, vectors[result.name])
            # a word-for-word identical sentence ahead is not counted against it (as for imgdesc)
            ahead = [
                n for n in ranking[: ranking.index(result.name)] if sentences[n] != sentences[result.name]
            ]
            result.self_rank = len(ahead) + 1
    run.signals = signals.text_signals(list(sentences.values()))
    run.summary = summarise(run)
    return run, vectors


def difference(run: RunResult, baseline: RunResult) -> dict[str, float | None]:
    """The run's summary minus the baseline's, for the compared keys (None where either
    is undefined)."""
    out: dict[str, float | None] = {}
    for _, key in COMPARED:
        mine, theirs = run.summary.get(key), baseline.summary.get(key)
        out[key] = None if mine is None or theirs is None else mine - theirs
    return out


def signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.3f}"


def difference_line(diff: Mapping[str, float | None], shown: Sequence[tuple[str, str]] = COMPARED) -> str:
    """'vs naive baseline: MRR +0.120, hit@1 +0.100, …'"""
    return "vs naive baseline: " + ", ".join(f"{label} {signed(diff.get(key))}" for label, key in shown)
