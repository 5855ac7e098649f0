"""The evaluation's metric code on small fixed inputs, the reference format's errors,
and one small `imgdesc eval` run end to end."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.evaluation import dataset, metrics, signals
from describe.vocabulary import normalise_tag

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


def test_first_rank_mean_and_percentile() -> None:
    assert metrics.first_rank(["x", "a"], "a") == 2
    assert metrics.first_rank(["x"], "a") is None
    assert metrics.mean([1.0, None, 3.0]) == 2.0
    assert metrics.mean([None]) is None
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert metrics.percentile(values, 50) == pytest.approx(float(np.percentile(values, 50)))
    assert metrics.percentile(values, 95) == pytest.approx(float(np.percentile(values, 95)))
    assert metrics.percentile([], 50) is None


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
    from app.evaluation.command import DEVSET_REFERENCES

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
    from app.samples import render_sign

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
    [run] = data["runs"]
    assert run["status"] == "ok" and run["captioner"] == "classic"
    summary = run["summary"]
    for key in ("tag_precision", "tag_recall", "colour_f1", "mrr", "recall@5", "ndcg@5", "self_retrieval@1"):
        assert 0.0 <= summary[key] <= 1.0, key
    assert summary["mrr"] == 1.0  # a cat and a red sale sign are easy
    assert summary["describe_p50_ms"] > 0
    assert "CLIP" in data["clipscore"] or data["clipscore"]
    html = (out / "report.html").read_text()
    assert "<table>" in html and "a cat" in html
    assert "| classic/default |" in (out / "report.md").read_text()
