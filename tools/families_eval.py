"""Near-duplicates and more like this, measured on both dev sets: the numbers in
docs/EVALUATION.md ("Near-duplicates and more like this"). A dev-time measurement, never
imported by the product.

Near copies are made here, in a scratch folder, from every photo of the two dev sets
(the shared one's 82 and the built-in one's 32): resized, recompressed, brightened,
cropped (in the middle and at one side), and the issue's combination (70 % size, 5 %
cropped, JPEG quality 60, 10 % brighter). Truth: a copy and its original, or two copies
of one original, are near-duplicates; everything else is not, the built-in set's
mirrored photos and the same-subject pairs (two castles, two signs) included.

1. Hashes: precision and recall of the near-duplicate rule over every pair, on a grid of
   thresholds, per kind of copy; then the served grouping (catalog/families/) over a real
   store holding all of them, scored by its pairs.
2. More like this (`--describe`): the originals and two copies of each are indexed by the
   product's indexer (classic captioner) and ranked by search/similar.py and by the naive
   choice, the description vector alone. Near-copy queries: an original, its copies
   relevant. Same-subject queries: an original, the other images whose main subject (the
   first synonym group of the references) is shared, its own copies left out.

    .venv/bin/python tools/families_eval.py [--shared ../shared/devset] [--scratch DIR] [--describe]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.dev.evaluation.command import DEVSET_REFERENCES, build_devset  # noqa: E402
from app.dev.evaluation.metrics import hit_at_k, mean, recall_at_k, reciprocal_rank  # noqa: E402
from catalog.families import rules  # noqa: E402
from catalog.families.groups import Families  # noqa: E402
from catalog.fingerprint import fingerprint  # noqa: E402
from catalog.points import stored_image  # noqa: E402
from catalog.store.base import ImagePoint, SparseVector, StoredImage, point_id  # noqa: E402
from catalog.store.edge import EdgeStore  # noqa: E402
from describe.facts import Description  # noqa: E402
from describe.intake import IntakeLimits, load_image  # noqa: E402

Transform = Callable[[Image.Image], Image.Image]


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _crop(image: Image.Image, share: float, centred: bool) -> Image.Image:
    w, h = image.size
    dx, dy = round(w * share), round(h * share)
    if centred:
        return image.crop((dx // 2, dy // 2, w - (dx - dx // 2), h - (dy - dy // 2)))
    return image.crop((0, 0, w - dx, h - dy))


def _resize(image: Image.Image, share: float) -> Image.Image:
    size = (max(1, round(image.width * share)), max(1, round(image.height * share)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _brighter(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(factor)


# name → (transform, saved as JPEG at this quality; 0: PNG, lossless)
TRANSFORMS: dict[str, tuple[Transform, int]] = {
    "issue (70 %, crop 5 % centred, q60, +10 %)": (
        lambda im: _brighter(_crop(_resize(im, 0.7), 0.05, True), 1.1),
        60,
    ),
    "issue, cropped at one side": (lambda im: _brighter(_crop(_resize(im, 0.7), 0.05, False), 1.1), 60),
    "resized to 50 %": (lambda im: _resize(im, 0.5), 0),
    "resized to 70 %": (lambda im: _resize(im, 0.7), 0),
    "recompressed q60": (lambda im: im, 60),
    "recompressed q30": (lambda im: im, 30),
    "10 % brighter": (lambda im: _brighter(im, 1.1), 0),
    "20 % brighter": (lambda im: _brighter(im, 1.2), 0),
    "cropped 5 % (middle)": (lambda im: _crop(im, 0.05, True), 0),
    "cropped 5 % (one side)": (lambda im: _crop(im, 0.05, False), 0),
    "cropped 10 % (one side)": (lambda im: _crop(im, 0.10, False), 0),
}
GRID = [(c, f) for c in (8, 10, 12, 14) for f in (70, 80, 90, 100)]


def originals(shared: Path, scratch: Path) -> dict[str, Path]:
    found = {f"shared/{p.name}": p for p in sorted((shared / "images").glob("*.jpg"))}
    built = build_devset(scratch / "devset")
    found.update({f"builtin/{p.name}": p for p in sorted(built.iterdir()) if p.suffix in (".jpg", ".png")})
    return found


def main_subjects(shared: Path) -> dict[str, set[str]]:
    """Each image's main subject: the words of its references' first synonym group."""
    subjects = {}
    for prefix, path in (("shared", shared / "references.toml"), ("builtin", DEVSET_REFERENCES)):
        for name, entry in tomllib.loads(path.read_text()).get("images", {}).items():
            if entry.get("tags"):
                subjects[f"{prefix}/{name}"] = set(entry["tags"][0])
    return subjects


def write_copies(sources: dict[str, Path], folder: Path, which: Callable[[int], list[str]]) -> dict[str, str]:
    """Copies of every source by the transforms `which(i)` names; copy name → source name."""
    made = {}
    for i, (name, path) in enumerate(sources.items()):
        image = Image.open(path).convert("RGB")
        for kind in which(i):
            transform, quality = TRANSFORMS[kind]
            copy = transform(image)
            slug = f"{Path(name).stem}--{list(TRANSFORMS).index(kind)}"
            target = folder / Path(name).parent / (slug + (".jpg" if quality else ".png"))
            target.parent.mkdir(parents=True, exist_ok=True)
            copy.save(target, **({"quality": quality} if quality else {}))
            made[str(target.relative_to(folder))] = name
    return made


def _fingerprints(paths: dict[str, Path]) -> dict[str, StoredImage]:
    limits = IntakeLimits()
    empty = Description(description="", tags=[], tag_details=[], colors=[], composition=None, objects=[],
                        labels=[], text="", caption="", captioner="", profile="", width=0, height=0,
                        timings_ms={})  # fmt: skip
    found = {}
    for name, path in paths.items():
        image = load_image(path, limits, name=name)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        found[name] = stored_image(empty, sha256=sha, paths=[name], fingerprint=fingerprint(image.image))
    return found


def _arrays(payloads: list[StoredImage]) -> tuple[np.ndarray, np.ndarray]:
    coarse = np.array([rules.coarse_hashes(p) for p in payloads], dtype=np.uint64)
    fine = np.array(
        [[[(h >> (64 * k)) & (2**64 - 1) for k in range(4)] for h in rules.fine_hashes(p)] for p in payloads],
        dtype=np.uint64,
    )
    return coarse, fine


def pair_verdicts(payloads: list[StoredImage], coarse_limit: int, fine_limit: int) -> np.ndarray:
    """[i, j]: the near-duplicate rule on images i and j (as rules.near_duplicates, vectorised)."""
    coarse, fine = _arrays(payloads)
    n = len(payloads)
    found = np.zeros((n, n), dtype=bool)
    count = coarse.shape[1]
    windows = [(0, j) for j in range(count)] + [(i, 0) for i in range(1, count)]
    for i, j in windows:
        dc = np.bitwise_count(coarse[:, None, i] ^ coarse[None, :, j])
        df = np.bitwise_count(fine[:, None, i, :] ^ fine[None, :, j, :]).sum(axis=-1)
        found |= (dc <= coarse_limit) & (df <= fine_limit)
    return found | found.T


def hash_part(sources: dict[str, Path], scratch: Path) -> None:
    copies = write_copies(sources, scratch / "copies", lambda i: list(TRANSFORMS))
    paths = {**sources, **{name: scratch / "copies" / name for name in copies}}
    payloads = _fingerprints(paths)
    names = list(payloads)
    source = {name: copies.get(name, name) for name in names}
    kind = {name: list(TRANSFORMS)[int(Path(name).stem.rsplit("--", 1)[1])] for name in copies}
    truth = np.array([[source[a] == source[b] for b in names] for a in names])
    np.fill_diagonal(truth, False)
    upper = np.triu(np.ones_like(truth), 1)
    print(f"## Near-duplicates: {len(sources)} originals, {len(copies)} copies, {int(upper.sum())} pairs\n")
    print("| coarse ≤ | fine ≤ | precision | recall | false pairs | " + " | ".join(TRANSFORMS) + " |")
    print("|---" * (4 + len(TRANSFORMS)) + "|")
    listed = [payloads[n] for n in names]
    for coarse_limit, fine_limit in GRID:
        said = pair_verdicts(listed, coarse_limit, fine_limit)
        tp = int((said & truth & upper).sum())
        fp = int((said & ~truth & upper).sum())
        fn = int((~said & truth & upper).sum())
        per_kind = []
        for k in TRANSFORMS:
            pairs = [(names.index(c), names.index(copies[c])) for c in copies if kind[c] == k]
            per_kind.append(f"{mean(float(said[i, j]) for i, j in pairs):.2f}")
        served = (coarse_limit, fine_limit) == (rules.NEAR_COARSE, rules.NEAR_FINE)
        mark = " **(served)**" if served else ""
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        cells = [
            f"{coarse_limit}{mark}",
            str(fine_limit),
            f"{precision:.3f}",
            f"{recall:.3f}",
            str(fp),
            *per_kind,
        ]
        print("| " + " | ".join(cells) + " |")
    _served_grouping(payloads, source, scratch)


def _served_grouping(payloads: dict[str, StoredImage], source: dict[str, str], scratch: Path) -> None:
    """The product's grouping (hash index, rule, components) over a real store."""
    store = EdgeStore.open(scratch / "grouping" / "qdrant", 2)
    try:
        store.upsert([
            ImagePoint(id=point_id(p.sha256), dense=[1.0, 0.0], sparse=SparseVector([], []), payload=p)
            for p in payloads.values()
        ])  # fmt: skip
        families = Families(store, scratch / "grouping")
        families.sync()
        by_id = {point_id(p.sha256): name for name, p in payloads.items()}
        said = {
            frozenset((by_id[a], by_id[b]))
            for group in families.groups(rules.NEAR)
            for a, b in itertools.combinations(group.ids, 2)
        }
        truth = {frozenset((a, b)) for a, b in itertools.combinations(payloads, 2) if source[a] == source[b]}
        groups = families.groups(rules.NEAR)
        families.close()
    finally:
        store.close()
    right = len(said & truth)
    precision, recall = right / max(1, len(said)), right / max(1, len(truth))
    print(
        f"\nServed grouping: {len(groups)} groups for {len(set(source.values()))} originals; "
        f"pairs in a group: precision {precision:.3f}, recall {recall:.3f}\n"
    )


def ranking_part(sources: dict[str, Path], shared: Path, scratch: Path, grid: bool = False) -> None:
    from catalog.factory import load_models
    from catalog.settings import CatalogSettings
    from indexer.service import index_folder
    from search.similar import SimilarImages, SimilarWeights, naive_rank

    folder = scratch / "indexed"
    kinds = list(TRANSFORMS)
    for name, path in sources.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    # every original gets the copy and one other kind, in turn
    copies = write_copies(sources, folder, lambda i: [kinds[0], kinds[1 + i % (len(kinds) - 1)]])
    models = load_models(CatalogSettings(data_dir=str(scratch / "data")))
    data = scratch / "data"
    store = EdgeStore.open(data / "qdrant", models.embedder.dim, image_size=models.image_size)
    try:
        index_folder(folder, data, models.describer, models.embedder, store)
        ids = {
            name: point_id(hashlib.sha256((folder / name).read_bytes()).hexdigest())
            for name in [*sources, *copies]
        }
        families = Families(store, data)
        families.sync()
        subjects = main_subjects(shared)
        rankers: dict[str, SimilarImages | None] = {
            "more like this (served)": SimilarImages(store, families),
            "  without the hash (views and colour)": SimilarImages(
                store, None, weights=SimilarWeights(hash=0.0)
            ),
            "  labels vector alone": SimilarImages(
                store, None, weights=SimilarWeights(dense=0, colour=0, hash=0)
            ),
            "naive: description vector alone": None,
        }
        if grid:  # the weights' neighbourhood, without the hash (which decides near copies alone)
            for labels, colour in itertools.product((0.0, 0.25, 0.5, 1.0, 2.0), (0.0, 0.3, 1.0)):
                weights = SimilarWeights(labels=labels, colour=colour, hash=0.0)
                rankers[f"  grid: labels {labels}, colour {colour}"] = SimilarImages(
                    store, None, weights=weights
                )
        print("## More like this\n")
        print("| ranking | near copies: MRR | R@1 | R@5 | same subject: MRR | R@1 | R@5 |")
        print("|---|---|---|---|---|---|---|")
        for label, ranker in rankers.items():
            near_scores, subject_scores = [], []
            for name in sources:
                pid = ids[name]
                ranked = [p for p, _ in (ranker.rank(pid, 30) if ranker else naive_rank(store, pid, 30))]
                mine = {ids[c] for c, s in copies.items() if s == name}
                near_scores.append(_scores(ranked, mine))
                partners = {
                    other for other in sources
                    if other != name and subjects.get(name, set()) & subjects.get(other, set())
                }  # fmt: skip
                if partners:
                    related = {ids[p] for p in partners} | {
                        ids[c] for c, s in copies.items() if s in partners
                    }
                    subject_scores.append(_scores([p for p in ranked if p not in mine], related))
            print(f"| {label} | " + " | ".join(_means(near_scores) + _means(subject_scores)) + " |")
        print(f"\n{len(sources)} near-copy queries, {len(subject_scores)} same-subject queries.")
        families.close()
    finally:
        store.close()


def _scores(ranked: list[str], relevant: set[str]) -> tuple[float, float, float]:
    return reciprocal_rank(ranked, relevant), hit_at_k(ranked, relevant, 1), recall_at_k(ranked, relevant, 5)


def _means(scores: list[tuple[float, float, float]]) -> list[str]:
    return [f"{mean(s[k] for s in scores):.3f}" for k in range(3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "devset")
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument("--describe", action="store_true", help="also rank (describes ~340 images)")
    parser.add_argument("--no-hashes", action="store_true", help="leave out the hash part")
    parser.add_argument("--grid", action="store_true", help="also rank with a grid of weights")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imgdesc-families-") as tmp:
        scratch = args.scratch or Path(tmp)
        sources = originals(args.shared, scratch)
        if not args.no_hashes:
            hash_part(sources, scratch)
        if args.describe:
            ranking_part(sources, args.shared, scratch, args.grid)


if __name__ == "__main__":
    main()
