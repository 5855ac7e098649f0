"""What `why` costs (issue 24: at most 2 ms a page of hits): the same searches with and
without explaining, side by side, over a temporary embedded store, and the explaining
alone. A page is the search page's 60 hits.

The store holds `n` images whose descriptions are the classic describer's (README.md's
examples) with the subject and colours varied, so no two are alike; they are embedded by
the real text embedder (a few seconds for 600). Run: `python -m app.dev.bench.why`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

from catalog.embed import Embedder
from catalog.factory import Catalog, Models
from catalog.points import PointEncoder, stored_image
from catalog.store.base import point_id
from catalog.store.edge import EdgeStore
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.facts import Description
from search.fusion import contributions
from search.service import SearchService
from search.why import Explainer

PAGE = 60  # app/web/pages.py's PAGE_LIMIT
QUERIES = (
    "brown cat",
    "a cup of coffee on a table",
    "summer sale banner",
    "person in a suit and tie",
    "church",
    "red car in the street",
    "dog on the grass",
    "black and white photo of a bicycle",
)
EXCLUDED = "-silver"  # one of COLOURS: in about a quarter of the descriptions
SUBJECTS = ("cat", "dog", "cup", "car", "bicycle", "church", "person", "bowl", "tree", "boat", "tie", "sign")
COLOURS = ("brown", "red", "black", "silver", "navy blue", "light gray", "green", "terracotta")
TEMPLATES = (
    "An image of a {a} and a {b}, with what looks like a {c}. The {a} and the {b} are large, in the centre. "
    "The picture is a horizontal medium shot, evenly lit and in focus. The whole frame is mostly {x}, "
    "from top to bottom. The colours are vivid, mainly {x}, {y} and black.",
    "An image of a {x} {a}, most likely a {b}. The {a} fills most of the frame. The picture is horizontal, "
    "evenly lit and in focus. The whole frame is mostly {x}, from top to bottom. The main colours are "
    "{x}, light {y} and silver.",
    "A banner that reads “{A} SALE 50% OFF”. It could also be a book jacket. The picture is horizontal, "
    "evenly lit and in focus, on a plain {x} background. The main colour is {x}.",
    "An image of a {a} and a {x} {b}, with what looks like a {c}. The {a} fills most of the frame; the {b} "
    "is in the centre. It may also show a {c}. The picture is vertical, dimly lit and in focus. Sky fills "
    "the top of the frame, and the bottom is mostly dark. Fine detail runs throughout. The main colours "
    "are black, {y} and {x}.",
)


class Result(msgspec.Struct, kw_only=True):
    images: int
    page: int
    queries: int
    runs: int
    load: float  # the machine's 1-minute load average when the run ended (cores: `cores`)
    cores: int
    search_ms: float  # median over queries of the median search of a page, without why
    search_why_ms: float  # the same searches explaining every hit
    # the same searches with an excluded word held by about a quarter of the images
    # (`-silver`), explaining every hit: the word check on each candidate and the
    # candidates read to fill the page
    search_excluding_ms: float
    explain_ms: float  # the explaining alone (Explainer, contributions, explain × page), wall clock
    explain_max_ms: float  # the slowest query's median explaining, wall clock
    # the same in CPU time of the explaining thread: what it costs, without the time a busy
    # machine keeps it waiting for a core
    explain_cpu_ms: float
    explain_cpu_max_ms: float


def descriptions(n: int, seed: int = 7) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b, c = rng.sample(SUBJECTS, 3)
        x, y = rng.sample(COLOURS, 2)
        text = TEMPLATES[i % len(TEMPLATES)].format(a=a, b=b, c=c, x=x, y=y, A=a.upper())
        out.append((text, [a, b, x, y.split()[-1]]))
    return out


def build(folder: Path, n: int, embedder: Embedder) -> EdgeStore:
    store = EdgeStore.open(folder, embedder.dim)
    encoder = PointEncoder(embedder)
    points = []
    for i, (text, tags) in enumerate(descriptions(n)):
        sha = f"{i:064x}"
        caption = text.split(". ")[0] + "."
        main = Description(description=text, tags=tags, tag_details=[], colors=[], composition=None,
                           objects=[], labels=[], text="", caption=caption, captioner="classic",
                           profile="default", width=640, height=480, timings_ms={})  # fmt: skip
        points.append(encoder.point(point_id(sha), stored_image(main, sha256=sha, paths=[f"{i}.jpg"])))
    for start in range(0, len(points), 256):
        store.upsert(points[start : start + 256])
    store.optimize()
    return store


def explain_page(search: SearchService, query: str, runs: int) -> tuple[float, float]:
    """Median seconds (wall clock, CPU of this thread) to explain one page of `query`'s
    hits, from the views the search had."""
    hits = search.search(query, limit=PAGE, why=False)
    views = search.views(query, (), max(100, 4 * PAGE))
    payloads = search.store.get_many([h.id for h in hits])
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        explainer = Explainer(query)
        found = contributions(views, search.weights.by_view(), [h.id for h in hits])
        for hit in hits:
            explainer.explain(payloads[hit.id], hit.score, found[hit.id])
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def run(n: int = 600, runs: int = 15, queries: Sequence[str] = QUERIES) -> Result:
    embedder = Embedder()
    embedder.load()
    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp) / "store", n, embedder)
        try:
            # as served (SearchService.over); no describer model is loaded, none is needed
            search = SearchService.over(Catalog(Models(Describer(DescribeSettings()), embedder, None), store))
            plain, explained, excluding, alone, alone_cpu = [], [], [], [], []
            for query in queries:
                search.search(query, limit=PAGE)  # warm: caches, the query's first embedding
                times: dict[str, list[float]] = {"plain": [], "why": [], "excluding": []}
                # interleaved, so that a busy moment of the machine falls on each
                for _, kind in itertools.product(range(runs), times):
                    asked = f"{query} {EXCLUDED}" if kind == "excluding" else query
                    start = time.perf_counter()
                    search.search(asked, limit=PAGE, why=kind != "plain")
                    times[kind].append(time.perf_counter() - start)
                plain.append(statistics.median(times["plain"]))
                explained.append(statistics.median(times["why"]))
                excluding.append(statistics.median(times["excluding"]))
                wall, cpu = explain_page(search, query, runs)
                alone.append(wall)
                alone_cpu.append(cpu)
        finally:
            store.close()
    return Result(
        images=n,
        page=PAGE,
        queries=len(queries),
        runs=runs,
        load=round(os.getloadavg()[0], 1),
        cores=os.cpu_count() or 0,
        search_ms=round(statistics.median(plain) * 1e3, 2),
        search_why_ms=round(statistics.median(explained) * 1e3, 2),
        search_excluding_ms=round(statistics.median(excluding) * 1e3, 2),
        explain_ms=round(statistics.median(alone) * 1e3, 3),
        explain_max_ms=round(max(alone) * 1e3, 3),
        explain_cpu_ms=round(statistics.median(alone_cpu) * 1e3, 3),
        explain_cpu_max_ms=round(max(alone_cpu) * 1e3, 3),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    result = run(args.images, args.runs)
    print(msgspec.json.format(msgspec.json.encode(result)).decode())


if __name__ == "__main__":
    main()
