"""Score the text analyzer's options for display type (issue 27, part 4): character error
rate, reference-word recall, headlines read whole, currency signs kept, and the text
stage's time, for today's reader and each variant, side by side in one process.

    .venv/bin/python eval/creatives/display_ocr.py [--set display|creatives] [--variants a,b,…]

`display`: eval-results/display_type (display_type.py renders it, truth.json beside it);
`creatives`: the creatives dev set (build.py), its text taken from specs.py. The variants
wrap describe/analyzers/text.py's TextReader without changing it:

* base: the reader before display type (PP-OCRv4 detector at 640 px, PP-OCRv6 recogniser;
  `letter_spacing` and `merge_rows` off), which every single variant below changes one
  thing of;
* pad: every box at least PAD_MIN_H px high recognised from a crop of the full-resolution
  image with a margin (the recogniser's input is 48 px high, fixed in the model, so a
  taller input is not an option; the margin is);
* up2: crops lower than UP_MAX_H px upscaled ×2 (cubic) before recognition;
* unclip2 / unclip25: the detector's unclip ratio 2.0 / 2.5 (default 1.6);
* box03: the detector's box threshold 0.3 (ours 0.4);
* space: display type's spaces placed from the gaps between its characters
  (describe/analyzers/text_reread.py, spaces; the reader's `letter_spacing`);
* rows: display-size boxes on one row merged into one before recognition (merge_rows; the
  reader's `merge_rows`);
* det960: the detector on a 960 px copy (ours 640): small fine print;
* rows+space (today's reader), det960+rows+space, unclip2+rows+space, unclip25+rows+space: together.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from describe.analyzers.text import TextReader  # noqa: E402
from describe.facts import Facts  # noqa: E402
from describe.intake import load_image  # noqa: E402

PAD_MIN_H = 40  # px: a headline-size box
PAD = (0.25, 0.2)  # the margin, in box heights (across, down)
UP_MAX_H = 24  # px: small text


class Padded(TextReader):
    def _detect(self, bgr: np.ndarray) -> list[np.ndarray]:
        quads = super()._detect(bgr)
        h, w = bgr.shape[:2]
        out = []
        for q in quads:
            height = float(q[:, 1].max() - q[:, 1].min())
            if height >= PAD_MIN_H:
                centre = q.mean(axis=0)
                q = q + np.sign(q - centre) * np.array([PAD[0] * height, PAD[1] * height], np.float32)
                q[:, 0], q[:, 1] = q[:, 0].clip(0, w - 1), q[:, 1].clip(0, h - 1)
            out.append(q)
        return out


class Upscaled(TextReader):
    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        crops = [
            cv2.resize(c, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC) if c.shape[0] < UP_MAX_H else c
            for c in crops
        ]
        return super()._recognise(crops)


def detector_variant(**det: float) -> type[TextReader]:
    class Tuned(TextReader):
        def _load(self) -> None:
            super()._load()
            for key, value in det.items():
                setattr(self._det.postprocess_op, key, value)

    return Tuned


# The reader before display type: its two steps are options of the reader now
PLAIN = {"letter_spacing": False, "merge_rows": False}

VARIANTS: dict[str, Callable[[], TextReader]] = {
    "base": functools.partial(TextReader, **PLAIN),
    "pad": functools.partial(Padded, **PLAIN),
    "up2": functools.partial(Upscaled, **PLAIN),
    "unclip2": functools.partial(detector_variant(unclip_ratio=2.0), **PLAIN),
    "unclip25": functools.partial(detector_variant(unclip_ratio=2.5), **PLAIN),
    "box03": functools.partial(detector_variant(box_thresh=0.3), **PLAIN),
    "space": functools.partial(TextReader, merge_rows=False),
    "rows": functools.partial(TextReader, letter_spacing=False),
    "rows+space": TextReader,  # today's reader
    "det960": functools.partial(TextReader, det_side=960, **PLAIN),
    "det960+rows+space": functools.partial(TextReader, det_side=960),
    "unclip2+rows+space": detector_variant(unclip_ratio=2.0),
    "unclip25+rows+space": detector_variant(unclip_ratio=2.5),
}


def distance(a: str, b: str) -> int:
    """Levenshtein distance (no edit-distance package in the lock; this is the textbook DP)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def words(text: str) -> list[str]:
    return [w.strip(".,:;!") for w in text.split() if w.strip(".,:;!")]


def truth(which: str) -> tuple[Path, dict[str, list[str]]]:
    if which == "display":
        folder = ROOT / "eval-results" / "display_type"
        return folder, json.loads((folder / "truth.json").read_text())
    sys.path.insert(0, str(HERE))
    from specs import SPECS

    folder = ROOT / "eval-results" / "creatives" / "images"
    return folder, {f"{s['name']}.jpg": [t for _, t in s["lines"]] for s in SPECS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="display", choices=("display", "creatives"))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("-v", action="store_true", help="print each variant's misread headlines")
    ap.add_argument("--dump", type=Path, help="write each variant's read of each image here (JSON)")
    args = ap.parse_args()
    folder, want = truth(args.set)
    names = args.variants.split(",")
    readers = {n: VARIANTS[n]() for n in names}
    for r in readers.values():
        r.load()
    stats: dict[str, Counter[str]] = {n: Counter() for n in names}
    times: dict[str, list[float]] = {n: [] for n in names}
    reads: dict[str, dict[str, str]] = {n: {} for n in names}
    for name, lines in want.items():
        image = load_image(folder / name)
        ref = " ".join(lines)
        for n, reader in readers.items():  # side by side, image by image: the same load
            t = time.perf_counter()
            found = reader.analyze(image, Facts(width=image.width, height=image.height))
            times[n].append((time.perf_counter() - t) * 1000)
            hyp = " ".join(line.text for line in found.lines)
            reads[n][name] = hyp
            s = stats[n]
            s["dist"] += distance(ref, hyp)
            s["chars"] += len(ref)
            got = Counter(words(hyp))
            for w in words(ref):
                s["words"] += 1
                s["words_read"] += got[w] > 0
                got[w] -= got[w] > 0
                if re.search(r"[$€£¥%]", w):
                    s["signs"] += 1
                    s["signs_read"] += re.sub(r"\s", "", w) in hyp.replace(" ", "")
            s["heads"] += 1
            s["heads_read"] += lines[0] in hyp
            if args.v and lines[0] not in hyp:
                print(f"{n:9} {name}: {hyp!r}  (want {lines[0]!r})")
    print(f"{args.set}: {len(want)} images, {sum(len(v) for v in want.values())} lines")
    print("| variant | CER | word recall | headlines whole | $ € £ ¥ % kept | text p50 / mean ms |")
    print("|---|---|---|---|---|---|")
    for n in names:
        s = stats[n]
        print(
            f"| {n} | {s['dist'] / s['chars']:.3f} | {s['words_read'] / s['words']:.3f} "
            f"| {s['heads_read']}/{s['heads']} | {s['signs_read']}/{s['signs']} "
            f"| {statistics.median(times[n]):.0f} / {statistics.mean(times[n]):.0f} |"
        )
    if args.dump:
        args.dump.write_text(json.dumps({"truth": want, "reads": reads}, indent=1, ensure_ascii=False))
    print(f"load average {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
