"""Run an evaluation: describe every image with each captioner/profile, index the
descriptions in a temporary embedded store exactly as the indexer would, run the
queries through the real search service, and score everything.

One Describer serves every run (the detector, classifier and OCR models load once;
the captioner is chosen per call). A captioner that cannot load — a vision-language
model without local weights — becomes a skipped run with its reason.
"""

from __future__ import annotations

import hashlib
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

import numpy as np

from app.dev.evaluation import baseline, metrics, signals
from app.dev.evaluation.clip import ClipScorer, load_scorer
from app.dev.evaluation.dataset import COLOUR_FAMILIES, References
from app.dev.evaluation.results import (
    CUTOFFS,
    NDCG_K,
    Agreement,
    Evaluation,
    ImageResult,
    RunResult,
    score_ranking,
    summarise,
)
from catalog.embed import TextEmbedder
from catalog.factory import Catalog, Models
from catalog.points import PointEncoder, image_vector, stored_image
from catalog.store.base import point_id
from catalog.store.edge import EdgeStore
from describe import registry
from describe.describer import Describer
from describe.errors import ImageError
from describe.facts import Description, Facts
from describe.intake import load_image
from describe.knowledge.vocabulary import normalise_tag
from describe.render.tags import MIN_COLOUR_COVERAGE
from search.service import SearchService

Progress = Callable[[int, int, str], None]


def run_evaluation(
    folder: Path,
    images: Sequence[str],
    refs: References,
    models: Models,
    specs: Sequence[tuple[str, str]],
    *,
    k: int = 10,
    reference_files: Sequence[str] = (),
    progress: Progress | None = None,
    use_clip: bool = True,
    with_baseline: bool = True,
) -> Evaluation:
    """`images` are names relative to `folder`; `specs` are (captioner, profile) pairs.
    `models` come from the catalog's factory, so each run is searched as the server
    searches (the image view too, when the tagger is active).
    With `with_baseline`, the naive baseline is scored from the first run's facts that
    have labels (baseline.py) and every run gets its difference to it."""
    describer, embedder = models.describer, models.embedder
    for captioner, profile in specs:  # a typo is an error now, not a skipped run later
        registry.get(captioner, "captioner", "caption")
        describer.profiles.get(profile)
    scorer, clip_note = load_scorer() if use_clip else (None, "not computed (--no-clip)")
    runs: list[RunResult] = []
    vectors: dict[str, dict[str, np.ndarray]] = {}
    base_facts: dict[str, Facts] = {}
    base_source: RunResult | None = None
    with tempfile.TemporaryDirectory(prefix="imgdesc-eval-") as tmp:
        for n, (captioner, profile) in enumerate(specs):
            run = RunResult(captioner=captioner, profile=profile)
            runs.append(run)
            start = time.perf_counter()
            try:
                describer.load(profile, captioner)
            except Exception as exc:  # no weights offline, a broken runtime: skip, say why
                run.status, run.reason = "skipped", " ".join(str(getattr(exc, "message", exc)).split())
                continue
            run.load_s = round(time.perf_counter() - start, 2)
            described, facts = _describe_all(folder, images, describer, run, refs, scorer, progress)
            if base_source is None and any(f.labels for f in facts.values()):
                base_facts, base_source = facts, run
            store = EdgeStore.open(Path(tmp) / f"run-{n}", embedder.dim, image_size=models.image_size)
            try:
                vectors[run.label] = _index(store, embedder, described, facts, run)
                _search(SearchService.over(Catalog(models, store)), run, refs, described, k)
            finally:
                store.close()
            run.signals = signals.text_signals([d.description for d in described.values()])
            run.summary = summarise(run)
    base = None
    if with_baseline and base_source is not None:
        base, vectors[baseline.NAME] = baseline.run_baseline(base_facts, base_source, refs, embedder, k)
        for run in runs:
            if run.status == "ok":
                run.vs_baseline = baseline.difference(run, base)
        runs.append(base)
    return Evaluation(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        folder=str(folder),
        references=list(reference_files),
        images=len(images),
        queries=len(refs.queries),
        k=k,
        clipscore=clip_note,
        machine=f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"{describer.settings.threads} threads",
        runs=runs,
        agreement=_agreement(runs, vectors),
        baseline=base.label if base else "",
    )


def _describe_all(
    folder: Path,
    images: Sequence[str],
    describer: Describer,
    run: RunResult,
    refs: References,
    scorer: ClipScorer | None,
    progress: Progress | None,
) -> tuple[dict[str, Description], dict[str, Facts]]:
    """Each image's description and the facts behind it (for the baseline)."""
    described: dict[str, Description] = {}
    found: dict[str, Facts] = {}
    profile = describer.profiles.get(run.profile)
    for done, name in enumerate(images, 1):
        result = ImageResult(name=name)
        run.images.append(result)
        try:
            # what Describer.describe does, with the facts kept; the same timings
            start = time.perf_counter()
            image = load_image(folder / name, describer.settings.limits, name=name)
            decode_ms = round((time.perf_counter() - start) * 1000, 1)
            facts, timings = describer.analyze(image, profile, run.captioner)
            desc = describer.compose(facts, profile, timings | {"decode": decode_ms})
        except ImageError as exc:
            result.error = exc.message
        except Exception as exc:  # a model failing on one image must not end the run
            result.error = f"{type(exc).__name__}: {exc}"
        else:
            described[name], found[name] = desc, facts
            _score_image(result, desc, refs)
            if scorer is not None:
                result.clipscore = round(scorer.score(folder / name, desc.description), 4)
        if progress is not None:
            progress(done, len(images), f"{run.label} {name}")
    return described, found


def _score_image(result: ImageResult, desc: Description, refs: References) -> None:
    result.description, result.tags, result.text = desc.description, desc.tags, desc.text
    result.describe_ms = desc.timings_ms.get("total", 0.0)
    result.words = len(signals.words(desc.description))
    # colour names are scored as colours, not as tags: the colour analyzer runs for every
    # captioner alike, so counting them twice would blur the difference between captioners
    colour_tags = {t.name for t in desc.tag_details if t.source == "colours" and t.name in COLOUR_FAMILIES}
    result.scored_tags = [t for t in desc.tags if t not in colour_tags]
    result.colours = list(dict.fromkeys(c.family for c in desc.colors if c.coverage >= MIN_COLOUR_COVERAGE))
    ref = refs.images.get(result.name)
    if ref is None:
        return
    if ref.tags:
        result.tag_score = metrics.group_scores(result.scored_tags, ref.tags, ref.acceptable, normalise_tag)
        result.text_recall = metrics.found_in_text(
            ref.tags, result.scored_tags, desc.description, normalise_tag
        )
    if ref.colours and desc.colors:  # a profile without colours is not scored on them
        result.colour_score = metrics.group_scores(result.colours, ref.colour_groups)


def _index(
    store: EdgeStore,
    embedder: TextEmbedder,
    described: dict[str, Description],
    facts: dict[str, Facts],
    run: RunResult,
) -> dict[str, np.ndarray]:
    """Points built by the indexer's own mapping (catalog/points.py), so the search
    measured here is the product's. One point per file: the indexer would merge
    byte-identical files."""
    by_name = {i.name: i for i in run.images}
    encoder = PointEncoder(embedder)
    points, dense = [], {}
    for name, desc in described.items():
        sha = hashlib.sha256(name.encode()).hexdigest()
        found = facts[name].objects
        payload = stored_image(
            desc,
            sha256=sha,
            paths=[name],
            boxes=found.objects if found else (),
            embedding_model=embedder.name,
        )
        start = time.perf_counter()
        point = encoder.point(point_id(sha), payload, image=image_vector(facts[name].zero_shot))
        by_name[name].embed_ms = round((time.perf_counter() - start) * 1000, 1)
        dense[name] = np.asarray(point.dense)  # unit length: the embedder normalises
        points.append(point)
    store.upsert(points)
    return dense


def _search(
    search: SearchService, run: RunResult, refs: References, described: dict[str, Description], k: int
) -> None:
    limit = max(k, *CUTOFFS, NDCG_K)
    for query in refs.queries:
        ranking = [h.path for h in search.search(query.text, limit=limit)]
        run.queries.append(score_ranking(query.text, query.relevant, ranking, k))
    by_name = {i.name: i for i in run.images}
    for name, desc in described.items():
        hits = search.search(desc.description, limit=limit)
        # an image whose paragraph is word for word another's (a mirrored copy) cannot be
        # told apart by any query: those ties are not counted against it
        ahead = 0
        for hit in hits:
            if hit.path == name:
                by_name[name].self_rank = ahead + 1
                break
            ahead += hit.description != desc.description


def _agreement(runs: Sequence[RunResult], vectors: dict[str, dict[str, np.ndarray]]) -> list[Agreement]:
    ok = [r for r in runs if r.status == "ok"]
    out = []
    for a, b in combinations(ok, 2):
        tags_a = {i.name: i.scored_tags for i in a.images if not i.error}
        tags_b = {i.name: i.scored_tags for i in b.images if not i.error}
        both = sorted(tags_a.keys() & tags_b.keys())
        va, vb = vectors.get(a.label, {}), vectors.get(b.label, {})
        cos = [float(va[n] @ vb[n]) for n in both if n in va and n in vb]
        out.append(
            Agreement(
                a=a.label,
                b=b.label,
                images=len(both),
                tag_jaccard=metrics.mean(metrics.jaccard(tags_a[n], tags_b[n]) for n in both),
                description_cosine=metrics.mean(cos),
            )
        )
    return out
