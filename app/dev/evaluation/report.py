"""Write an evaluation as report.md, report.html (Jinja2, autoescaped), results.json
(every raw number) and PNG plots. Both documents come from one list of sections, so
they always show the same tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import msgspec

from app.dev.evaluation import baseline, plots
from app.dev.evaluation.results import CUTOFFS, NDCG_K, Evaluation, ImageResult, RunResult

QUALITY_COLUMNS = [
    ("tag P", "tag_precision"), ("tag R", "tag_recall"), ("tag F1", "tag_f1"),
    ("tag R +text", "tag_recall_text"),
    ("colour P", "colour_precision"), ("colour R", "colour_recall"), ("MRR", "mrr"), ("hit@1", "hit@1"),
    *[(f"R@{k}", f"recall@{k}") for k in CUTOFFS], (f"nDCG@{NDCG_K}", f"ndcg@{NDCG_K}"),
]  # fmt: skip
SIGNAL_COLUMNS = [
    ("words (mean)", "words_mean"), ("vocabulary", "vocabulary"), ("type/token", "type_token_ratio"),
    ("distinct", "distinct_descriptions"), ("repeats", "repeat_rate"), ("subjectless", "subjectless"),
    ("self@1", "self_retrieval@1"),
    ("self MRR", "self_mrr"), ("CLIPScore", "clipscore"),
]  # fmt: skip
COST_COLUMNS = [
    ("load s", "load_s"), ("describe p50 ms", "describe_p50_ms"), ("describe p95 ms", "describe_p95_ms"),
    ("embed p50 ms", "embed_p50_ms"), ("images", "images"), ("failed", "failed"),
]  # fmt: skip


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def fmt(value: float | int | None, digits: int = 3) -> str:
    """Ratios with `digits` decimals; large numbers (ms, counts) with fewer."""
    if value is None:
        return "—"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 10):
        return f"{int(value)}"
    if abs(value) >= 100 or digits == 0:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.{digits}f}"


ONE_DECIMAL = frozenset({"words_mean", "load_s"})  # not ratios: three decimals would be noise


def _summary_table(runs: list[RunResult], columns: list[tuple[str, str]]) -> Table:
    rows = [
        [r.label, *(fmt(r.summary.get(key), 1 if key in ONE_DECIMAL else 3) for _, key in columns)]
        for r in runs
    ]
    return Table(["captioner/profile", *(h for h, _ in columns)], rows)


def _image_table(images: list[ImageResult], caption: str) -> Table:
    rows = []
    for i in images:
        t, c = i.tag_score, i.colour_score
        rows.append([
            i.name,
            fmt(t.precision if t else None, 2), fmt(t.recall if t else None, 2),
            ", ".join(t.missed) if t else "", ", ".join(t.wrong) if t else ", ".join(i.scored_tags),
            ", ".join(i.colours), fmt(c.precision if c else None, 2), fmt(c.recall if c else None, 2),
            str(i.self_rank or "—"), fmt(i.describe_ms, 0), i.error or i.description,
        ])  # fmt: skip
    headers = ["image", "tag P", "tag R", "missed", "wrong tags", "colours", "col P", "col R", "self rank",
               "ms", "description"]  # fmt: skip
    return Table(headers, rows, caption)


def _baseline_section(ev: Evaluation, ok: list[RunResult]) -> Section | None:
    compared = [r for r in ok if r.vs_baseline]
    if not ev.baseline or not compared:
        return None
    rows = [
        [r.label, *(baseline.signed(r.vs_baseline.get(key)) for _, key in baseline.COMPARED)]
        for r in compared
    ]
    return Section(
        "Against the naive baseline",
        [f"{ev.baseline}: from the same facts, the top-3 labels with p > {baseline.MIN_LABEL_SCORE}, the "
         f"objects with score > {baseline.MIN_OBJECT_SCORE} and the OCR words in one sentence "
         "(“A photo of daisy, pot, vase. Objects: potted plant. Text: SUMMER SALE”), embedded with the "
         "same model and ranked by plain cosine over every image; its tags are the label and object "
         "names. Each row is that run minus the baseline: positive means imgdesc does better."],
        [Table(["captioner/profile", *(h for h, _ in baseline.COMPARED)], rows)],
    )  # fmt: skip


def sections(ev: Evaluation, images: dict[str, str]) -> list[Section]:
    ok = [r for r in ev.runs if r.status == "ok"]
    overview = Section(
        "Overview",
        [
            f"{ev.images} images in `{ev.folder}`; references: {', '.join(ev.references) or 'none'}; "
            f"{ev.queries} queries, ranked by the real hybrid search over a temporary index (top {ev.k})"
            + (f"; {ev.baseline} by plain cosine over every image." if ev.baseline else "."),
            f"CLIPScore: {ev.clipscore}. Machine: {ev.machine}. Created {ev.created}.",
            "Timings are wall-clock on a shared machine: treat them as rough.",
        ],
    )
    overview.paragraphs += [f"Skipped {r.label}: {r.reason}" for r in ev.runs if r.status == "skipped"]
    out = [overview]
    if not ok:
        return out
    out.append(
        Section(
            "Quality",
            ["Tag and colour scores are means over images that have references; search scores are "
             "means over the queries. '—' means nothing to score."],
            [_summary_table(ok, QUALITY_COLUMNS)],
            [images["summary"]] if "summary" in images else [],
        )
    )  # fmt: skip
    against = _baseline_section(ev, ok)
    if against:
        out.append(against)
    phrases = [
        f"{r.label}: " + "; ".join(f"“{p}” ({share:.0%})" for p, share in r.signals.common_phrases)
        for r in ok
        if r.signals and r.signals.common_phrases
    ]
    out.append(
        Section(
            "Label-free signals",
            ["No references needed. self@1: the share of images that their own description finds "
             "first (ties with a word-for-word identical description are not counted against it). "
             "subjectless: descriptions whose first sentence names nothing (“An image.”). "
             "Most common 4-word phrases (share of descriptions):", *phrases],
            [_summary_table(ok, SIGNAL_COLUMNS)],
        )
    )  # fmt: skip
    cost = Section("Cost", [], [_summary_table(ok, COST_COLUMNS)], [images.get("latency", "")])
    if ev.agreement:
        cost.tables.append(
            Table(
                ["a", "b", "images", "tag Jaccard", "document cosine"],
                [
                    [a.a, a.b, str(a.images), fmt(a.tag_jaccard), fmt(a.description_cosine)]
                    for a in ev.agreement
                ],
                "Agreement between captioners/profiles",
            )
        )
    out.append(cost)
    per_query = Section("Queries", [], [], [images.get("queries", "")])
    for run in ok:
        rows = [
            [q.text, ", ".join(q.relevant), fmt(q.reciprocal_rank, 2), fmt(q.hit, 0), fmt(q.recall["@5"], 2),
             fmt(q.ndcg, 2), ", ".join(q.ranking[:3])]
            for q in run.queries
        ]  # fmt: skip
        per_query.tables.append(
            Table(["query", "relevant", "RR", "hit@1", "R@5", f"nDCG@{NDCG_K}", "top 3"], rows, run.label)
        )
    out.append(per_query)
    per_image = Section("Images", [], [], [images.get("tags", "")])
    per_image.tables += [_image_table(r.images, r.label) for r in ok]
    out.append(per_image)
    for section in out:
        section.images = [i for i in section.images if i]
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(title: str, parts: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for s in parts:
        lines += [f"## {s.title}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for t in s.tables:
            if t.caption:
                lines += [f"**{t.caption}**", ""]
            lines.append("| " + " | ".join(t.headers) + " |")
            lines.append("|" + "|".join("---" for _ in t.headers) + "|")
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
            lines.append("")
        lines += [f"![{s.title}]({img})\n" for img in s.images]
    return "\n".join(lines).rstrip() + "\n"


def html(title: str, parts: list[Section]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2").render(title=title, sections=parts)


def write(ev: Evaluation, out: Path, title: str = "imgdesc evaluation") -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    images = plots.all_plots(ev.runs, out)
    parts = sections(ev, images)
    files = {"markdown": out / "report.md", "html": out / "report.html", "json": out / "results.json"}
    files["markdown"].write_text(markdown(title, parts))
    files["html"].write_text(html(title, parts))
    files["json"].write_bytes(msgspec.json.format(msgspec.json.encode(ev), indent=1) + b"\n")
    return files | {name: out / file for name, file in images.items()}
