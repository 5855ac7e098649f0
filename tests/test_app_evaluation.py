"""The evaluation's metric code on small fixed inputs, the reference format's errors,
and one small `imgdesc eval` run end to end."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.dev import stats
from app.dev.evaluation import baseline, dataset, metrics, signals
from app.dev.evaluation.results import ImageResult, RunResult
from describe.facts import DetectedObject, Facts, Label, LabelFacts, ObjectFacts, TextFacts
from describe.knowledge.vocabulary import normalise_tag
from tests.fakes import HashEmbedder, fake_analyzers, make_describer, write_images

# --- ranking metrics ------------------------------------------------------------


def test_reciprocal_rank_is_one_over_the_first_relevant_rank() -> None:
    assert metrics.reciprocal_rank(["a", "b", "c"], {"a"}) == 1.0
    assert metrics.reciprocal_rank(["x", "y", "b", "a"], {"a", "b"}) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(["x", "y"], {"a"}) == 0.0
    assert metrics.reciprocal_rank([], {"a"}) == 0.0


def test_recall_at_k_counts_relevant_items_in_the_first_k() -> None:
    ranking = ["a", "x", "b", "y", "c"]
    assert metrics.recall_at_k(ranking, {"a", "b", "c", "d"}, 1) == 0.25
    assert metrics.recall_at_k(ranking, {"a", "b", "c", "d"}, 3) == 0.5
    assert metrics.recall_at_k(ranking, {"a", "b", "c", "d"}, 10) == 0.75
    assert metrics.precision_at_k(ranking, {"a", "b"}, 5) == 0.4
    with pytest.raises(ValueError):
        metrics.recall_at_k(ranking, set(), 5)


def test_ndcg_of_known_rankings() -> None:
    # perfect order → 1; nothing relevant returned → 0
    assert metrics.ndcg_at_k(["a", "b", "x"], {"a", "b"}, 5) == pytest.approx(1.0)
    assert metrics.ndcg_at_k(["x", "y"], {"a"}, 5) == 0.0
    # one relevant item at rank 2: 1/log2(3) against an ideal of 1
    assert metrics.ndcg_at_k(["x", "a"], {"a"}, 5) == pytest.approx(1 / math.log2(3))
    # two relevant at ranks 1 and 3: (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(["a", "x", "b"], {"a", "b"}, 5) == pytest.approx(expected)
    # beyond k does not count
    assert metrics.ndcg_at_k(["x", "y", "a"], {"a"}, 2) == 0.0


def test_ndcg_with_graded_relevance() -> None:
    graded = {"a": 2.0, "b": 1.0}
    assert metrics.ndcg_at_k(["a", "b"], graded, 5) == pytest.approx(1.0)
    swapped = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(["b", "a"], graded, 5) == pytest.approx(swapped)


def test_hit_at_1_is_whether_the_first_result_is_relevant() -> None:
    # two relevant images, the first one found first: recall@1 is 0.5, hit@1 is 1
    assert metrics.hit_at_k(["a", "x", "b"], {"a", "b"}, 1) == 1.0
    assert metrics.recall_at_k(["a", "x", "b"], {"a", "b"}, 1) == 0.5
    assert metrics.hit_at_k(["x", "a"], {"a"}, 1) == 0.0
    assert metrics.hit_at_k(["x", "a"], {"a"}, 2) == 1.0
    assert metrics.hit_at_k([], {"a"}, 1) == 0.0


def test_first_rank_mean_and_percentile() -> None:
    assert metrics.first_rank(["x", "a"], "a") == 2
    assert metrics.first_rank(["x"], "a") is None
    assert metrics.mean([1.0, None, 3.0]) == 2.0
    assert metrics.mean([None]) is None
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert stats.percentile(values, 50) == pytest.approx(float(np.percentile(values, 50)))
    assert stats.percentile(values, 95) == pytest.approx(float(np.percentile(values, 95)))
    assert stats.percentile([], 50) is None


# --- tags, colours and agreement --------------------------------------------------


def test_tag_precision_and_recall_with_synonym_groups() -> None:
    groups = [["cup", "mug"], ["coffee", "espresso"], ["saucer"], ["spoon"]]
    score = metrics.group_scores(["mug", "espresso", "bowl", "tableware"], groups, acceptable=["tableware"])
    assert score.recall == 0.5  # cup and coffee groups hit; saucer and spoon missed
    assert score.precision == 0.75  # bowl is wrong; tableware is acceptable
    assert score.missed == ["saucer", "spoon"]
    assert score.wrong == ["bowl"]
    assert score.f1 == pytest.approx(2 * 0.75 * 0.5 / 1.25)


def test_two_synonyms_of_one_group_count_once_for_recall_but_both_are_right() -> None:
    score = metrics.group_scores(["cup", "mug"], [["cup", "mug"], ["coffee"]])
    assert score.recall == 0.5
    assert score.precision == 1.0


def test_normalisation_applies_to_both_sides() -> None:
    # the tag vocabulary folds plurals and synonyms: 'Coffee Mugs' is 'cup'
    score = metrics.group_scores(["Coffee Mugs", "Cats"], [["cup"], ["tabby"]], normalise=normalise_tag)
    assert score.recall == 1.0 and score.precision == 1.0


def test_undefined_scores_are_none() -> None:
    empty = metrics.group_scores([], [["cat"]])
    assert empty.precision is None and empty.recall == 0.0 and empty.f1 is None
    no_groups = metrics.group_scores(["cat"], [])
    assert no_groups.recall is None and no_groups.precision == 0.0


def test_recall_in_text_counts_the_paragraph_and_only_the_first_tags() -> None:
    groups = [["bison", "buffalo"], ["grass", "meadow"], ["herd"], ["snow"]]
    paragraph = "An image of a buffalo. What looks like grass covers the ground."
    assert metrics.found_in_text(groups, [], paragraph, normalise_tag) == 0.5
    tags = [f"tag{i}" for i in range(15)] + ["herd", "snow"]
    assert metrics.found_in_text(groups, tags, paragraph, normalise_tag) == 0.5  # past the 15th
    assert metrics.found_in_text(groups, ["herd", *tags], paragraph, normalise_tag) == 0.75
    assert metrics.found_in_text([["ice cream"]], [], "a bowl of Ice Cream.", normalise_tag) == 1.0
    assert metrics.found_in_text([], ["cat"], "a cat") is None


def test_jaccard() -> None:
    assert metrics.jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)
    assert metrics.jaccard(set(), set()) == 1.0
    assert metrics.jaccard({"a"}, set()) == 0.0


def test_text_signals() -> None:
    texts = ["An image of a cat.", "An image of a cat.", "A cup, a cup, a cup of coffee."]
    s = signals.text_signals(texts)
    assert s.descriptions == 3
    assert s.words_min == 5 and s.words_max == 8
    assert s.distinct_descriptions == pytest.approx(1 / 3)
    assert s.repeat_rate == pytest.approx(1 / 3)  # "a cup a" said twice in the third
    assert s.common_phrases[0] == ("an image of a", 0.667)  # share, rounded
    assert signals.repeated_ngrams("a cup a cup a cup") == ["a cup a", "cup a cup"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("An image.", True),
        ("An image with text. The main colour is red. Visible text reads “SUMMER SALE”.", True),
        ("", True),
        ("The main colours are light gray, red and black.", True),
        ("red, text", True),  # the tags profile's paragraph for a sign
        ("A photo.", True),
        ("An image of a cat, most likely an Egyptian cat. The main colour is brown.", False),
        ("An image of what looks like a lampshade.", False),
        ("An image with text. Visible text reads “SALE”.", True),  # only the first sentence counts
        ("Text: SUMMER SALE", False),  # the words read are content
        ("cat, animal, brown, close-up", False),
        ("An image of an orange. It is brightly lit.", False),  # a colour word as a noun
        ("An image of orange and white.", True),
    ],
)
def test_subjectless_paragraphs_name_nothing_in_their_first_sentence(text: str, expected: bool) -> None:
    assert signals.subjectless(text) is expected


def test_text_signals_count_subjectless_paragraphs() -> None:
    texts = ["An image.", "An image of a cat.", "An image with text. Visible text reads “OPEN”."]
    assert signals.text_signals(texts).subjectless == 2


# --- the naive baseline -----------------------------------------------------------


def _facts(labels: tuple[Label, ...] = (), objects: tuple[DetectedObject, ...] = (), text: str = "") -> Facts:
    return Facts(
        width=10,
        height=10,
        labels=LabelFacts(labels=labels),
        objects=ObjectFacts(objects=objects),
        text=TextFacts(text=text),
    )


def _obj(label: str, score: float) -> DetectedObject:
    return DetectedObject(label, score, (0.0, 0.0, 1.0, 1.0))


def test_baseline_sentence_is_top_labels_objects_and_text() -> None:
    facts = _facts(
        labels=(
            # given in the analyzer's order (by the best of whole-image and region scores):
            # the baseline sorts by the whole-image score and keeps those above 0.1
            Label("bee", 0.05, "animal", region_score=0.9),
            Label("vase", 0.2, "object", region_score=0.6),
            Label("daisy", 0.5, "plant"),
            Label("sunflower", 0.11, "plant"),  # fourth: over the top 3
            Label("pot", 0.3, "object"),
            Label("lily", 0.1, "plant"),  # not above 0.1
        ),
        objects=(_obj("potted plant", 0.8), _obj("cup", 0.39), _obj("potted plant", 0.6), _obj("vase", 0.45)),
        text="SUMMER SALE\n50%  OFF",
    )
    assert (
        baseline.sentence(facts)
        == "A photo of daisy, pot, vase. Objects: potted plant, vase. Text: SUMMER SALE 50% OFF"
    )
    # normalised as imgdesc's tags are (daisy → flower, pot → plant), each once
    assert baseline.tags(facts) == ["flower", "plant", "vase"]


def test_baseline_sentence_leaves_out_empty_parts() -> None:
    assert baseline.sentence(_facts(text="SUMMER SALE")) == "Text: SUMMER SALE"
    assert baseline.sentence(_facts(objects=(_obj("cat", 0.9),))) == "Objects: cat"
    assert baseline.sentence(_facts(labels=(Label("tabby", 0.4, "animal"),))) == "A photo of tabby"
    assert baseline.sentence(_facts(labels=(Label("tabby", 0.05, "animal"),))) == ""
    assert baseline.sentence(Facts(width=1, height=1)) == ""
    assert baseline.tags(Facts(width=1, height=1)) == []


def test_baseline_ranks_every_image_by_cosine() -> None:
    documents = {
        "far.jpg": np.array([0.0, 1.0]),
        "empty.jpg": np.zeros(2),  # an empty sentence: cosine 0 with everything, still ranked
        "long.jpg": np.array([5.0, 5.0]),  # the largest dot product, but 45° off
        "opposite.jpg": np.array([-1.0, 0.0]),
        "near.jpg": np.array([1.0, 0.1]),
    }
    assert baseline.rank(documents, np.array([2.0, 0.0])) == [
        "near.jpg", "long.jpg", "far.jpg", "empty.jpg", "opposite.jpg",
    ]  # fmt: skip
    assert baseline.rank({}, np.array([1.0, 0.0])) == []


def test_baseline_run_scores_the_cosine_ranking_of_its_sentences() -> None:
    facts = {
        "cat.jpg": _facts(labels=(Label("tabby", 0.6, "animal"),), objects=(_obj("cat", 0.9),)),
        "sale.png": _facts(text="SUMMER SALE"),
        "blank.png": _facts(),
        "dog.jpg": _facts(objects=(_obj("dog", 0.8),)),
    }
    source = RunResult(captioner="classic", profile="default")
    source.images = [ImageResult(name=n, describe_ms=12.0) for n in [*facts, "broken.jpg"]]
    source.images[-1].error = "not an image"
    refs = dataset.References(
        images={"cat.jpg": dataset.ImageRef(tags=[["cat"], ["animal"]])},
        queries=[
            dataset.Query(text="summer sale", relevant=["sale.png"]),
            dataset.Query(text="a dog", relevant=["dog.jpg"]),
        ],
    )
    embedder = HashEmbedder(dim=64)
    run, vectors = baseline.run_baseline(facts, source, refs, embedder, k=10)
    assert run.label == "naive-baseline"
    assert set(vectors) == set(facts)  # the broken image has no sentence
    for query in run.queries:
        wanted = np.asarray(embedder.embed_one(query.text))
        cosine = {n: float(v @ wanted) for n, v in vectors.items()}  # unit vectors (or zero)
        assert query.ranking == sorted(cosine, key=lambda n: -cosine[n])  # all four: no cut-off
    sale = run.queries[0]
    assert sale.ranking[0] == "sale.png" and sale.hit == 1.0 and sale.reciprocal_rank == 1.0
    by_name = {i.name: i for i in run.images}
    assert by_name["cat.jpg"].description == "A photo of tabby. Objects: cat"
    assert by_name["cat.jpg"].tag_score is not None and by_name["cat.jpg"].tag_score.recall == 0.5
    assert by_name["blank.png"].self_rank is None  # an empty sentence cannot find its image
    assert by_name["sale.png"].self_rank == 1
    assert by_name["broken.jpg"].error == "not an image"
    assert run.summary["failed"] == 1 and run.summary["subjectless"] == 1  # the empty sentence
    assert run.summary["mrr"] == pytest.approx(sum(q.reciprocal_rank for q in run.queries) / 2)


def test_difference_to_the_baseline_and_its_line() -> None:
    run = RunResult(captioner="classic", profile="default")
    run.summary = {"mrr": 0.75, "hit@1": 0.5, "recall@5": 0.625, "ndcg@5": 0.5, "tag_precision": None,
                   "tag_recall": 0.5, "tag_recall_text": 0.75}  # fmt: skip
    base = RunResult(captioner="naive-baseline", profile="")
    base.summary = {"mrr": 0.5, "hit@1": 0.75, "recall@5": 0.625, "ndcg@5": 0.375, "tag_precision": 0.5,
                    "tag_recall": 0.25, "tag_recall_text": 0.5}  # fmt: skip
    diff = baseline.difference(run, base)
    assert diff == {"mrr": 0.25, "hit@1": -0.25, "recall@5": 0.0, "ndcg@5": 0.125, "tag_precision": None,
                    "tag_recall": 0.25, "tag_recall_text": 0.25}  # fmt: skip
    assert baseline.difference_line(diff) == (
        "vs naive baseline: MRR +0.250, hit@1 -0.250, recall@5 +0.000, nDCG@5 +0.125, tag P —, tag R +0.250,"
        " tag R +text +0.250"
    )


def test_an_evaluation_scores_the_baseline_beside_each_run(tmp_path: Path) -> None:
    """Model-free: the fake analyzers describe, a hash embedder embeds, a real store searches."""
    from app.dev.evaluation import report
    from app.dev.evaluation.command import summary_lines
    from app.dev.evaluation.run import run_evaluation
    from catalog.factory import Models

    names = write_images(tmp_path / "images", 4)
    refs = dataset.References(queries=[dataset.Query(text="sky", relevant=[names[0]])])
    with fake_analyzers():
        models = Models(make_describer(), HashEmbedder(), None)
        ev = run_evaluation(
            tmp_path / "images", names, refs, models, [("fake-caption", "default")], use_clip=False
        )
        without = run_evaluation(
            tmp_path / "images", names, refs, models, [("fake-caption", "default")],
            use_clip=False, with_baseline=False,
        )  # fmt: skip
    run, base = ev.runs
    assert ev.baseline == base.label == "naive-baseline"
    # the fake labeller says "sky" or "night" at 0.9, and nothing else is found
    assert {i.description for i in base.images} <= {"A photo of sky", "A photo of night"}
    assert len(base.queries[0].ranking) == len(names)  # every image, no cut-off
    assert run.vs_baseline == baseline.difference(run, base) and base.vs_baseline == {}
    assert run.summary["hit@1"] is not None and run.summary["subjectless"] == 0
    lines = summary_lines(ev)
    assert lines[0].startswith("fake-caption/default: MRR ")
    assert lines[1] == "  " + baseline.difference_line(run.vs_baseline)
    assert lines[2].startswith("naive-baseline: MRR ") and len(lines) == 3
    files = report.write(ev, tmp_path / "report")
    md = files["markdown"].read_text()
    assert "## Against the naive baseline" in md and "| naive-baseline |" in md
    assert "Against the naive baseline" in files["html"].read_text()
    assert [r.label for r in without.runs] == ["fake-caption/default"] and without.baseline == ""
    assert not without.runs[0].vs_baseline


def test_an_unknown_baseline_is_an_error_before_anything_loads(tmp_path: Path) -> None:
    from app.config import Settings
    from app.dev.evaluation.command import evaluate

    with pytest.raises(dataset.EvalError, match="unknown baseline 'clever'; valid: naive, none"):
        evaluate(Settings(), tmp_path, tmp_path / "out", baseline="clever")


# --- the reference format ---------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "refs.toml"
    path.write_text(text)
    return path


def test_references_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[images."coffee.jpg"]
tags = [["cup", "mug"], ["coffee"]]
acceptable = ["tableware"]
colours = ["brown", ["red", "orange"]]

[[queries]]
text = "a cat"
relevant = ["chelsea.jpg"]
""",
    )
    refs = dataset.load(path)
    assert refs.images["coffee.jpg"].tags == [["cup", "mug"], ["coffee"]]
    assert refs.images["coffee.jpg"].colour_groups == [["brown"], ["red", "orange"]]
    assert refs.queries[0].relevant == ["chelsea.jpg"]
    dataset.check_against(refs, {"coffee.jpg", "chelsea.jpg"}, str(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[images."a.jpg"]\ntag = [["cup"]]', "Object contains unknown field `tag`"),
        ('[images."a.jpg"]\ntags = ["cup"]', "Expected `array`, got `str`"),
        ('[images."a.jpg"]\ntags = [[]]', 'images."a.jpg": tags[0] is empty'),
        ('[images."a.jpg"]\ncolours = ["teal"]', "unknown colour teal"),
        ('[[queries]]\ntext = "cat"\nrelevant = []', "query 'cat' lists no relevant images"),
        ('[[queries]]\nrelevant = ["a.jpg"]', "missing required field `text`"),
        ("[images\n", "not valid TOML"),
    ],
)
def test_reference_errors_name_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(dataset.EvalError) as caught:
        dataset.load(path)
    assert str(path) in caught.value.message
    assert message in caught.value.message


def test_references_to_images_not_in_the_folder_are_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[images."cofee.jpg"]\ntags = [["cup"]]\n[[queries]]\ntext = "x"\nrelevant = ["b.jpg"]'
    )
    refs = dataset.load(path)
    with pytest.raises(dataset.EvalError, match=r"not in the folder: cofee\.jpg, b\.jpg"):
        dataset.check_against(refs, {"coffee.jpg"}, str(path))
    with pytest.raises(dataset.EvalError, match="cannot read"):
        dataset.load(tmp_path / "missing.toml")


def test_the_shipped_dev_set_references_are_valid() -> None:
    import app
    from app.dev.evaluation.command import DEVSET_REFERENCES

    # package data, so `imgdesc eval` with no folder works from an installed wheel too
    assert DEVSET_REFERENCES.is_relative_to(Path(app.__file__).parent)
    refs = dataset.load(DEVSET_REFERENCES)
    assert len(refs.images) >= 30 and len(refs.queries) >= 15
    named = set(refs.images) | {n for q in refs.queries for n in q.relevant}
    assert named <= set(refs.images)  # every query's images have references too


# --- end to end -------------------------------------------------------------------


@pytest.mark.slow
def test_eval_writes_reports_with_metrics(
    tmp_path: Path, photos: dict[str, np.ndarray], write_image: Callable[..., Path]
) -> None:
    from typer.testing import CliRunner

    from app.cli import cli
    from app.dev.samples import render_sign

    folder = tmp_path / "images"
    folder.mkdir()
    write_image("images/cat.jpg", photos["chelsea"])
    write_image("images/coffee.jpg", photos["coffee"])
    write_image("images/rocket.jpg", photos["rocket"])
    render_sign("SUMMER SALE", "50% OFF", (200, 30, 40), (255, 255, 255)).save(folder / "sale.png")
    refs = tmp_path / "refs.toml"
    refs.write_text(
        '[images."cat.jpg"]\ntags = [["cat"], ["animal"]]\ncolours = ["brown"]\n'
        '[images."coffee.jpg"]\ntags = [["cup"], ["coffee", "espresso"], ["spoon"]]\n'
        '[[queries]]\ntext = "a cat"\nrelevant = ["cat.jpg"]\n'
        '[[queries]]\ntext = "summer sale"\nrelevant = ["sale.png"]\n'
    )
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        ["eval", str(folder), "--references", str(refs), "--captioner", "classic", "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    for name in ("report.md", "report.html", "results.json", "summary.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads((out / "results.json").read_text())
    run, base = data["runs"]
    assert run["status"] == "ok" and run["captioner"] == "classic"
    assert base["captioner"] == "naive-baseline" and data["baseline"] == "naive-baseline"
    assert set(run["vs_baseline"]) == {
        "mrr", "hit@1", "recall@5", "ndcg@5", "tag_precision", "tag_recall", "tag_recall_text"
    }  # fmt: skip
    summary = run["summary"]
    for key in (
        "tag_precision",
        "tag_recall",
        "tag_recall_text",
        "colour_f1",
        "mrr",
        "hit@1",
        "recall@5",
        "ndcg@5",
        "self_retrieval@1",
    ):
        assert 0.0 <= summary[key] <= 1.0, key
    assert summary["mrr"] == 1.0  # a cat and a red sale sign are easy
    assert summary["describe_p50_ms"] > 0
    assert "CLIP" in data["clipscore"] or data["clipscore"]
    html = (out / "report.html").read_text()
    assert "<table>" in html and "a cat" in html
    assert "| classic/default |" in (out / "report.md").read_text()
    assert "vs naive baseline: MRR " in result.output


def test_baseline_takes_the_detector_as_it_is_doubted_detections_included() -> None:
    # imgdesc sets the teddy bear aside (describe/knowledge/crosscheck.py); the naive baseline does not
    facts = Facts(
        width=10,
        height=10,
        labels=LabelFacts(labels=(Label("hen-of-the-woods", 0.31, "plant"),)),
        objects=ObjectFacts(objects=(_obj("cup", 0.5),), doubted=(_obj("teddy bear", 0.95),)),
    )
    assert baseline.sentence(facts) == "A photo of hen-of-the-woods. Objects: teddy bear, cup"
