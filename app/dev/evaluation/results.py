"""The raw numbers of an evaluation, as plain structs (written as JSON unchanged),
and the per-run summary computed from them."""

from __future__ import annotations

from typing import Literal

import msgspec

from app.dev.evaluation import metrics
from app.dev.evaluation.metrics import SetScore, f1, mean
from app.dev.evaluation.signals import TextSignals
from app.dev.stats import percentile

CUTOFFS = (1, 5, 10)  # recall@k reported for these k
NDCG_K = 5


class ImageResult(msgspec.Struct, kw_only=True):
    name: str
    description: str = ""
    tags: list[str] = []
    scored_tags: list[str] = []  # the tags scored against references: all but colour names
    colours: list[str] = []  # main colour families (coverage ≥ 10 %, as the tags use)
    text: str = ""
    tag_score: SetScore | None = None  # None without a reference for this image
    # reference groups found in the first 15 tags or the paragraph (None without a reference)
    text_recall: float | None = None
    colour_score: SetScore | None = None
    self_rank: int | None = None  # rank of the image when its own description is the query
    describe_ms: float = 0.0
    embed_ms: float = 0.0
    words: int = 0
    clipscore: float | None = None
    error: str = ""


class QueryResult(msgspec.Struct, kw_only=True):
    text: str
    relevant: list[str]
    ranking: list[str]  # what the search returned, best first
    reciprocal_rank: float
    hit: float  # 1 when the first result is relevant, else 0
    recall: dict[str, float]  # "@1", "@5", "@10"
    ndcg: float  # at NDCG_K


class Agreement(msgspec.Struct, kw_only=True):
    a: str
    b: str
    images: int
    tag_jaccard: float | None  # mean over images both described
    description_cosine: float | None  # of the two indexed documents' embeddings


class RunResult(msgspec.Struct, kw_only=True):
    captioner: str
    profile: str
    status: Literal["ok", "skipped"] = "ok"
    reason: str = ""
    load_s: float = 0.0
    images: list[ImageResult] = []
    queries: list[QueryResult] = []
    signals: TextSignals | None = None
    summary: dict[str, float | None] = {}
    # summary key → this run minus the baseline (empty for the baseline itself, or with none)
    vs_baseline: dict[str, float | None] = {}

    @property
    def label(self) -> str:
        # a baseline has no profile: it renders no template
        return f"{self.captioner}/{self.profile}" if self.profile else self.captioner


class Evaluation(msgspec.Struct, kw_only=True):
    created: str
    folder: str
    references: list[str]
    images: int
    queries: int
    k: int
    clipscore: str  # which model, or why none
    machine: str
    runs: list[RunResult]
    agreement: list[Agreement] = []
    baseline: str = ""  # the label of the baseline run among `runs`; "" for none


def score_ranking(text: str, relevant: list[str], ranking: list[str], k: int) -> QueryResult:
    """One query's scores for a ranking (best first); `ranking[:k]` is kept for the report."""
    return QueryResult(
        text=text,
        relevant=relevant,
        ranking=ranking[:k],
        reciprocal_rank=metrics.reciprocal_rank(ranking, relevant),
        hit=metrics.hit_at_k(ranking, relevant, 1),
        recall={f"@{c}": metrics.recall_at_k(ranking, relevant, c) for c in CUTOFFS},
        ndcg=metrics.ndcg_at_k(ranking, relevant, NDCG_K),
    )


def summarise(run: RunResult) -> dict[str, float | None]:
    done = [i for i in run.images if not i.error]
    tag_scores = [i.tag_score for i in done if i.tag_score is not None]
    colour_scores = [i.colour_score for i in done if i.colour_score is not None]
    tag_p, tag_r = mean(s.precision for s in tag_scores), mean(s.recall for s in tag_scores)
    col_p, col_r = mean(s.precision for s in colour_scores), mean(s.recall for s in colour_scores)
    ranks = [i.self_rank for i in done]
    latency = [i.describe_ms for i in done]
    out: dict[str, float | None] = {
        "images": len(run.images),
        "failed": len(run.images) - len(done),
        "tag_precision": tag_p,
        "tag_recall": tag_r,
        "tag_f1": f1(tag_p, tag_r),
        "tag_recall_text": mean(i.text_recall for i in done if i.text_recall is not None),
        "colour_precision": col_p,
        "colour_recall": col_r,
        "colour_f1": f1(col_p, col_r),
        "mrr": mean(q.reciprocal_rank for q in run.queries),
        "hit@1": mean(q.hit for q in run.queries),
    }
    for k in CUTOFFS:
        out[f"recall@{k}"] = mean(q.recall[f"@{k}"] for q in run.queries)
    out[f"ndcg@{NDCG_K}"] = mean(q.ndcg for q in run.queries)
    out["self_retrieval@1"] = mean(float(r == 1) for r in ranks) if ranks else None
    out["self_mrr"] = mean(1 / r if r else 0.0 for r in ranks) if ranks else None
    if run.signals is not None:
        s = run.signals
        out |= {
            "words_mean": s.words_mean,
            "vocabulary": s.vocabulary,
            "type_token_ratio": s.type_token_ratio,
            "distinct_descriptions": s.distinct_descriptions,
            "repeat_rate": s.repeat_rate,
            "subjectless": s.subjectless,
        }
    out |= {
        "clipscore": mean(i.clipscore for i in done),
        "describe_p50_ms": percentile(latency, 50),
        "describe_p95_ms": percentile(latency, 95),
        "embed_p50_ms": percentile([i.embed_ms for i in done], 50),
        "load_s": run.load_s,
    }
    return out
