"""How far can ranking go on the facts imgdesc has? A dev-time measurement, never
imported by the product.

Describes both dev sets with the classic captioner, indexes them the way `imgdesc eval`
does (the indexer's own point mapping, a real Qdrant Edge store), asks the served
SearchService for each view's candidates and then scores, per query:

- the served fusion (search/fusion.py, the calibrated weights);
- the best fixed weights of a grid (what any re-calibration could reach);
- oracles that pick per query *knowing the answer*: the better of the served ranking
  and the confident-facts view alone (the naive baseline's own kind of document), the
  best single view, the best grid setting. They bound what query-dependent fusion
  could ever reach on these facts; they are not reachable themselves.

    .venv/bin/python tools/fusion_ceiling.py [--shared ../shared/devset] [--scratch DIR]

About 2 minutes here (most of it describing 114 images).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import load_settings  # noqa: E402
from app.dev.evaluation import dataset  # noqa: E402
from app.dev.evaluation.command import DEVSET_REFERENCES, build_devset  # noqa: E402
from app.dev.evaluation.metrics import reciprocal_rank  # noqa: E402
from app.dev.evaluation.results import RunResult  # noqa: E402
from app.dev.evaluation.run import _describe_all, _index  # noqa: E402
from catalog.factory import Catalog, Models, load_models  # noqa: E402
from catalog.store.base import DENSE, FOCUS, LABELS, SPARSE  # noqa: E402
from catalog.store.edge import EdgeStore  # noqa: E402
from describe.files import expand  # noqa: E402
from search.fusion import Weights, fuse  # noqa: E402
from search.service import SearchService  # noqa: E402

CANDIDATES = 200  # per view; the served search asks for 100 at its default limit
VIEWS = (DENSE, FOCUS, LABELS, SPARSE)
GRID = [
    {DENSE: d, FOCUS: f, LABELS: lb, SPARSE: s}
    for d, f, lb, s in itertools.product((0, 0.5, 1), (0, 0.4, 1), (0, 0.2, 0.6), (0, 0.2, 0.6))
    if d + f + lb + s > 0
]

Query = tuple[list[str], dict[str, list[tuple[str, float]]]]  # relevant names, views by name


def collect(folder: Path, references: list[Path], models: Models, scratch: Path) -> list[Query]:
    refs = dataset.merge(*(dataset.load(f) for f in references))
    names = [p.relative_to(folder).as_posix() for p in expand([folder])]
    run = RunResult(captioner="classic", profile="default")
    described, facts = _describe_all(folder, names, models.describer, run, refs, None, None)
    store = EdgeStore.open(scratch, models.embedder.dim, image_size=models.image_size)
    try:
        _index(store, models.embedder, described, facts, run)
        search = SearchService.over(Catalog(models, store))  # every served view
        queries: list[Query] = []
        for query in refs.queries:
            views = search.views(query.text, (), CANDIDATES)
            ids = {pid for ranked in views.values() for pid, _ in ranked}
            paths = {pid: p.paths[0] for pid, p in store.get_many(list(ids)).items()}
            named = {v: [(paths[pid], s) for pid, s in ranked if pid in paths] for v, ranked in views.items()}
            queries.append((list(query.relevant), named))
        return queries
    finally:
        store.close()


def rr(query: Query, weights: dict[str, float]) -> float:
    relevant, views = query
    complete = {v: len(views[v]) < CANDIDATES for v in views}
    ranking = [name for name, _ in fuse(views, weights, complete)]
    return reciprocal_rank(ranking[:20], relevant)


def report(label: str, queries: list[Query]) -> None:
    served_w = Weights().by_view()
    table = [[rr(q, w) for w in GRID] for q in queries]  # query × grid setting
    fused = [rr(q, served_w) for q in queries]
    alone = [{v: rr(q, {v: 1.0}) for v in VIEWS} for q in queries]
    best_fixed = max(range(len(GRID)), key=lambda i: sum(row[i] for row in table))
    rows = [
        ("served fusion", fused),
        *((f"{v} view alone", [a[v] for a in alone]) for v in VIEWS),
        (f"best fixed grid weights {GRID[best_fixed]}", [row[best_fixed] for row in table]),
        ("oracle: served or focus, per query", [max(f, a[FOCUS]) for f, a in zip(fused, alone, strict=True)]),
        ("oracle: best single view, per query", [max(a.values()) for a in alone]),
        ("oracle: best grid setting, per query", [max(row) for row in table]),
    ]
    print(f"{label} ({len(queries)} queries), MRR")
    for name, values in rows:
        print(f"  {sum(values) / len(values):.3f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "devset")
    parser.add_argument("--scratch", type=Path, help="where the project set is rendered and the stores kept")
    args = parser.parse_args()
    settings = load_settings({}, environ={})
    models = load_models(settings.catalog, describe=False)
    models.describer.load("default", "classic")
    with tempfile.TemporaryDirectory(prefix="imgdesc-ceiling-") as tmp:
        scratch = args.scratch or Path(tmp)
        sets = {
            "shared set": (args.shared / "images", [args.shared / "references.toml"]),
            "project set": (build_devset(scratch / "devset"), [DEVSET_REFERENCES]),
        }
        for i, (label, (folder, references)) in enumerate(sets.items()):
            report(label, collect(folder, references, models, scratch / f"store-{i}"))


if __name__ == "__main__":
    main()
