"""Score the creative fact on the creatives dev set: kind and format accuracy, and the
precision and recall of the CTAs, prices, coupon codes, languages and drawn things read, and
the picture's position (accuracy over all, precision and recall of the positions said),
against truth.toml.

    .venv/bin/python eval/creatives/score.py [IMAGES_DIR] [--facts FILE] [--save FILE] [-v]

IMAGES_DIR defaults to eval-results/creatives/images (build.py writes it). The real
Describer (default profile, classic captioner) reads each image; `--save` keeps the facts
as JSON and `--facts` scores saved facts again, re-reading only the creative part
(describe/analyzers/creative.py) with the current rules, for quick iteration on
describe/data/creative.toml. Also counts subjectless paragraphs (`-v`: every miss).
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import msgspec

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CURRENCY = {"$": "$", "€": "€", "£": "£", "¥": "¥", "usd": "$", "eur": "€", "gbp": "£"}


def money(text: str) -> tuple[str, str] | None:
    """'from $1,299' → ('$', '1299'); '9.50 €' → ('€', '9.5'): currency and amount."""
    cur = next((sym for key, sym in CURRENCY.items() if key in text.lower()), "")
    number = r"(\d[\d,]*(?:[.,]\d{1,2})?)"
    patterns = (rf"[$€£¥]\s?{number}", rf"{number}\s?(?:[$€£¥]|eur|usd|gbp)", number)
    m = next((m for p in patterns if (m := re.search(p, text, re.IGNORECASE))), None)
    if not m:
        return None
    raw = m.group(1)
    if re.search(r"[.,]\d{1,2}$", raw):
        whole, frac = raw[:-3].replace(",", "").replace(".", ""), raw[-2:]
        amount = f"{int(whole or 0)}.{frac}".rstrip("0").rstrip(".")
    else:
        amount = str(int(raw.replace(",", "").replace(".", "")))
    return cur, amount


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w ]", " ", text.lower()).split())


def pr(found: list, wanted: list) -> tuple[int, int, int]:
    """(true positives, found, wanted): each wanted item matched at most once."""
    left = list(wanted)
    tp = 0
    for item in found:
        if item in left:
            left.remove(item)
            tp += 1
    return tp, len(found), len(wanted)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("images", nargs="?", type=Path, default=ROOT / "eval-results" / "creatives" / "images")
    ap.add_argument("--facts", type=Path)
    ap.add_argument("--save", type=Path)
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from describe.analyzers.creative import read_creative
    from describe.describer import Describer
    from describe.facts import Facts
    from describe.intake import load_image

    truth = tomllib.loads((HERE / "truth.toml").read_text())["images"]
    describer = Describer()
    profile = describer.profiles.get("default")
    saved = msgspec.json.decode(args.facts.read_bytes(), type=dict[str, Facts]) if args.facts else {}
    kept: dict[str, Facts] = {}
    kind_ok = format_ok = subjectless = position_ok = 0
    counts = {k: [0, 0, 0] for k in ("cta", "price", "coupon", "languages", "drawn", "position")}
    for name, want in truth.items():
        image = load_image(args.images / name)
        if name in saved:
            facts = msgspec.structs.replace(saved[name], creative=read_creative(image.rgb, saved[name]))
        else:
            facts, _ = describer.analyze(image, profile)
        kept[name] = facts
        paragraph = describer.compose(facts, profile).description
        first = paragraph.split(". ")[0].lower()
        if first in ("an image", "an image with text") or not first.strip():
            subjectless += 1
        c = facts.creative
        kind, fmt = (c.kind, c.format) if c else ("", "")
        kind_ok += kind == want["kind"]
        format_ok += fmt == want["format"]
        position = c.product_position if c else ""
        position_ok += position == want["product_position"]
        got = {
            "cta": [norm(t) for t in c.texts("cta")] if c else [],
            "price": [money(t) for t in c.texts("price")] if c else [],
            "coupon": c.texts("coupon") if c else [],
            "languages": list(c.languages) if c else [],
            "drawn": list(c.drawn) if c else [],
            "position": [position] if position else [],
        }
        wanted = {
            "cta": [norm(t) for t in want["cta"]],
            "price": [money(t) for t in want["prices"]],
            "coupon": want["coupons"],
            "languages": want.get("languages", []),
            "drawn": want.get("drawn", []),
            "position": [want["product_position"]] if want["product_position"] else [],
        }
        for key in counts:
            for i, v in enumerate(pr(got[key], wanted[key])):
                counts[key][i] += v
        misses = [k for k in counts if sorted(map(str, got[k])) != sorted(map(str, wanted[k]))]
        if args.v and (kind != want["kind"] or fmt != want["format"] or misses):
            print(f"{name}: kind {kind!r}/{want['kind']!r} format {fmt!r}/{want['format']!r}", end="")
            for k in misses:
                print(f" | {k} {got[k]} vs {wanted[k]}", end="")
            print(f" | text {facts.text.text if facts.text else ''!r}"[:400])
    n = len(truth)
    print(
        f"kind accuracy {kind_ok / n:.3f}, format accuracy {format_ok / n:.3f}, "
        f"picture position accuracy {position_ok / n:.3f} ({position_ok}/{n}), subjectless {subjectless}/{n}"
    )
    for key, (tp, found, wanted_n) in counts.items():
        p = tp / found if found else float("nan")
        r = tp / wanted_n if wanted_n else float("nan")
        print(f"{key}: precision {p:.3f} ({tp}/{found}), recall {r:.3f} ({tp}/{wanted_n})")
    if args.save:
        args.save.write_bytes(msgspec.json.encode(kept))


if __name__ == "__main__":
    main()
