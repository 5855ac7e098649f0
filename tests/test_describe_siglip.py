"""The SigLIP 2 zero-shot tagger: the vocabulary (built-in, merged with a user file,
thresholds and top-k on fixed scores), tags merged with the other analyzers', a tiny
random-weight SiglipModel built by the test and loaded through the production loader,
and the silent fallback when the weights are missing."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from catalog.factory import active_tagger
from describe.analyzers.siglip.catalog import TAGGERS
from describe.analyzers.siglip.tagger import SiglipTagger, sigmoid_scores
from describe.analyzers.siglip.vocabulary import (
    Vocabulary,
    VocabularyTag,
    calibrate_threshold,
    load_vocabulary,
)
from describe.config import DescribeSettings
from describe.describer import Describer
from describe.errors import ConfigError
from describe.facts import Facts, Label, LabelFacts, ZeroShotFacts, ZeroShotTag
from describe.intake import IntakeLimits, load_image
from describe.knowledge.vocabulary import normalise_tag
from describe.render.profiles import TagRules
from describe.render.tags import build_tags
from tests import vlm_tiny
from tests.conftest import encode
from tests.fakes import FAKE_USE


@pytest.fixture(scope="module")
def tiny_siglip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vlm_tiny.build_siglip2(tmp_path_factory.mktemp("tiny-siglip2") / "siglip2")


def photo(seed: int) -> bytes:
    return encode(np.random.default_rng(seed).integers(0, 256, (60, 90, 3), dtype=np.uint8))


def tagger_describer(**options: object) -> Describer:
    settings = DescribeSettings(
        captioner="classic", use={**FAKE_USE, "zero_shot": "siglip2"}, analyzers={"siglip2": dict(options)}
    )
    return Describer(settings)


# --- the vocabulary ---------------------------------------------------------------------------


def test_the_builtin_vocabulary_is_marketing_tags_with_categories_and_synonyms() -> None:
    vocabulary = load_vocabulary()
    by_name = {t.name: t for t in vocabulary.tags}
    assert len(by_name) == len(vocabulary.tags) >= 300  # no duplicate names
    for name in ("flat lay", "studio shot", "illustration", "3d render", "coffee", "summer", "cozy"):
        assert name in by_name
    assert {t.category for t in vocabulary.tags} >= {
        "product",
        "food",
        "people",
        "place",
        "season",
        "mood",
        "style",
    }
    assert by_name["coffee"].synonyms and by_name["coffee"].prompts[0] == "a photo of coffee."
    assert by_name["cozy"].prompts[0] == "a cozy photo."  # the mood category's own prompt


def test_a_user_file_adds_replaces_drops_and_overrides(tmp_path: Path) -> None:
    user = tmp_path / "tags.toml"
    user.write_text(
        'threshold = 0.2\ntop_k = 3\ndrop = ["pizza"]\n'
        "[categories.brand]\n"
        'prompt = "a photo of the {} logo."\n'
        'tags.acme_widget = ["acme"]\n'
        "[categories.drink]\n"
        "threshold = 0.4\n"
        'tags.coffee = ["flat white"]\n'
    )
    builtin = load_vocabulary()
    merged = load_vocabulary(user)
    by_name = {t.name: t for t in merged.tags}
    assert "pizza" not in by_name and len(merged.tags) == len(builtin.tags)  # one dropped, one added
    assert by_name["acme widget"] == VocabularyTag(
        "acme widget", "brand", ("acme",), "a photo of the {} logo.", 0.2
    )
    assert by_name["coffee"].synonyms == ("flat white",) and by_name["coffee"].threshold == 0.4
    assert by_name["sushi"].threshold == 0.2  # the file's threshold applies to the built-ins too
    assert merged.top_k == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("colour = 1\n", "unknown field"),
        ('drop = ["no such tag"]\n', "not in the vocabulary"),
        ('[categories.x]\nprompt = "no slot"\ntags.a = []\n', "needs one '{}'"),
        ("[categories.x]\nthreshold = 2.0\ntags.a = []\n", "not in 0..1"),
        ("top_k = 0\n", "at least 1"),
    ],
)
def test_a_bad_user_file_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    user = tmp_path / "tags.toml"
    user.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_vocabulary(user)
    assert str(user) in info.value.message


def test_a_missing_user_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read tag vocabulary file"):
        load_vocabulary(tmp_path / "absent.toml")


def test_select_keeps_tags_over_their_threshold_best_first_at_most_top_k() -> None:
    tags = tuple(
        VocabularyTag(n, "c", threshold=t) for n, t in [("a", 0.1), ("b", 0.1), ("c", 0.5), ("d", 0.1)]
    )
    vocabulary = Vocabulary(tags, top_k=2)
    assert vocabulary.select([0.2, 0.05, 0.3, 0.9]) == (
        ZeroShotTag("d", 0.9, "c"),
        ZeroShotTag("a", 0.2, "c"),
    )
    # c scores 0.3 but its own threshold is 0.5; b is below 0.1
    assert [t.name for t in Vocabulary(tags, top_k=10).select([0.2, 0.05, 0.3, 0.9])] == ["d", "a"]
    with pytest.raises(ValueError, match="3 scores for 4 tags"):
        vocabulary.select([0.1, 0.2, 0.3])


def test_sigmoid_scores_apply_the_learned_temperature_and_bias() -> None:
    image = np.array([1.0, 0.0])
    texts = np.array([[1.0, 0.0], [0.0, 1.0]])
    scores = sigmoid_scores(image, texts, scale=10.0, bias=-5.0)
    assert scores == pytest.approx([1 / (1 + np.exp(-5.0)), 1 / (1 + np.exp(5.0))])


# --- tags --------------------------------------------------------------------------------------


def test_zero_shot_tags_merge_with_the_other_analyzers_keeping_the_best_score() -> None:
    facts = Facts(
        width=10,
        height=10,
        labels=LabelFacts((Label("espresso", 0.6, "food"),)),
        zero_shot=ZeroShotFacts(
            tags=(ZeroShotTag("espresso", 0.8, "drink"), ZeroShotTag("flat lay", 0.12, "style")),
            source="siglip2",
            model="m",
        ),
    )
    tags = {t.name: t for t in build_tags(facts, TagRules())}
    assert (tags["espresso"].source, tags["espresso"].score) == ("labels", 0.8)  # first source, best score
    assert (tags["flat lay"].source, tags["flat lay"].score) == ("siglip2", 0.12)  # below min_score, kept
    without = build_tags(facts, TagRules(sources=("labels",)))
    assert [t.name for t in without] == ["espresso"]


# --- the model, through the production loader ------------------------------------------------


@pytest.mark.slow
def test_the_tagger_loads_a_siglip2_folder_and_tags_and_embeds(tiny_siglip: Path, fakes: None) -> None:
    describer = tagger_describer(model=str(tiny_siglip), device="cpu")
    describer.load()
    tagger = describer.analyzer("siglip2", "zero_shot")
    assert isinstance(tagger, SiglipTagger) and tagger.available and tagger.dim == 16
    assert active_tagger(describer) is tagger
    assert tagger.tag_vectors.shape == (len(tagger.vocabulary.tags), 16)
    assert np.allclose(np.linalg.norm(tagger.tag_vectors, axis=1), 1.0, atol=1e-5)
    result = describer.describe(photo(1))
    facts, _ = describer.analyze(load_image(photo(1), IntakeLimits()), describer.profiles.get("default"))
    assert facts.zero_shot is not None and facts.zero_shot.model == str(tiny_siglip)
    assert len(facts.zero_shot.embedding) == 16
    assert np.linalg.norm(facts.zero_shot.embedding) == pytest.approx(1.0, abs=1e-4)
    # random weights: which tags is arbitrary, but every one passed its threshold and is in the output
    picked = facts.zero_shot.tags
    assert 0 < len(picked) <= tagger.vocabulary.top_k
    thresholds = {t.name: t.threshold for t in tagger.vocabulary.tags}
    assert all(t.score >= thresholds[t.name] for t in picked)
    assert [t.score for t in picked] == sorted((t.score for t in picked), reverse=True)
    siglip_tags = {t.name for t in result.tag_details if t.source == "siglip2"}
    assert siglip_tags and siglip_tags <= {normalise_tag(t.name) for t in picked}  # handbag → bag
    assert result.timings_ms["siglip2"] > 0
    # the text tower embeds queries into the same space
    query = tagger.embed_query("a red bicycle")
    assert query is not None and len(query) == 16


@pytest.mark.slow
def test_the_tag_vectors_reflect_the_user_vocabulary(tiny_siglip: Path, tmp_path: Path, fakes: None) -> None:
    user = tmp_path / "tags.toml"
    user.write_text('threshold = 0.0\ntop_k = 400\n[categories.brand]\ntags.acme = ["acme widget"]\n')
    tagger = tagger_describer(model=str(tiny_siglip), vocabulary_file=str(user)).analyzer(
        "siglip2", "zero_shot"
    )
    tagger.load()
    assert isinstance(tagger, SiglipTagger)
    facts = tagger.analyze(load_image(photo(2), IntakeLimits()))
    assert isinstance(facts, ZeroShotFacts)
    # threshold 0: every tag is kept, the user's among them
    assert len(facts.tags) == len(tagger.vocabulary.tags) and "acme" in {t.name for t in facts.tags}


def test_missing_weights_fall_back_with_one_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fakes: None
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    describer = tagger_describer()  # the catalog's default, not in the (empty) cache
    with caplog.at_level(logging.WARNING, logger="describe"):
        describer.load()
        first = describer.describe(photo(3))
        describer.describe(photo(4))
    lines = [r.getMessage() for r in caplog.records if "zero-shot" in r.getMessage()]
    assert len(lines) == 1 and "imgdesc models pull siglip2-base" in lines[0]
    assert first.description and not any(t.source == "siglip2" for t in first.tag_details)
    tagger = describer.analyzer("siglip2", "zero_shot")
    assert isinstance(tagger, SiglipTagger) and tagger.dim is None and tagger.embed_query("cat") is None
    assert active_tagger(describer) is None


def test_the_tagger_is_off_unless_enabled(fakes: None) -> None:
    describer = Describer(DescribeSettings(captioner="classic", use=FAKE_USE))
    facts, _ = describer.analyze(load_image(photo(5), IntakeLimits()), describer.profiles.get("default"))
    assert facts.zero_shot is None and active_tagger(describer) is None


def test_the_catalog_lists_a_small_and_a_large_tagger_with_licences() -> None:
    small, large = TAGGERS["siglip2-base"], TAGGERS["siglip2-so400m"]
    assert small.repo == "google/siglip2-base-patch16-224" and small.licence == "Apache-2.0"
    assert large.params_m > 2 * small.params_m and large.licence == "Apache-2.0"


@pytest.mark.slow
def test_the_vocabulary_vectors_are_computed_once_and_kept_on_disk(
    tiny_siglip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fakes: None
) -> None:
    cache = tmp_path / "vectors"
    first = tagger_describer(model=str(tiny_siglip), cache_dir=str(cache)).analyzer("siglip2", "zero_shot")
    first.load()
    assert isinstance(first, SiglipTagger) and len(list(cache.glob("*.npy"))) == 1

    def fail(self: SiglipTagger, vocabulary: Vocabulary) -> np.ndarray:
        raise AssertionError("the text tower ran again")

    monkeypatch.setattr(SiglipTagger, "_tag_vectors", fail)
    again = tagger_describer(model=str(tiny_siglip), cache_dir=str(cache)).analyzer("siglip2", "zero_shot")
    again.load()
    assert isinstance(again, SiglipTagger) and np.array_equal(again.tag_vectors, first.tag_vectors)
    # another vocabulary is another file: computed, not mistaken for the cached one
    monkeypatch.undo()
    user = tmp_path / "tags.toml"
    user.write_text('[categories.brand]\ntags.acme = ["acme widget"]\n')
    other = tagger_describer(model=str(tiny_siglip), cache_dir=str(cache), vocabulary_file=str(user))
    other.analyzer("siglip2", "zero_shot").load()
    assert len(list(cache.glob("*.npy"))) == 2


def test_calibration_picks_the_lowest_threshold_that_keeps_the_precision() -> None:
    pairs = [(0.9, True), (0.5, True), (0.3, False), (0.2, True), (0.1, False), (0.05, False)]
    assert calibrate_threshold(pairs, precision=0.75) == 0.2  # 3 of 4 right down to 0.2
    assert calibrate_threshold(pairs, precision=1.0) == 0.5
    assert calibrate_threshold(pairs, precision=0.5) == 0.05  # 3 of 6
    assert calibrate_threshold([(0.4, False), (0.4, True)], precision=0.6) is None  # ties are kept together
    assert calibrate_threshold([], precision=0.8) is None


def test_models_list_shows_the_taggers_and_pull_knows_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from app.cli import cli

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    runner = CliRunner()
    listed = runner.invoke(cli, ["models", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["name"]: row for row in json.loads(listed.stdout)["models"]}
    for name, spec in TAGGERS.items():
        row = rows[name]
        assert (row["family"], row["licence"], row["params_m"], row["cached"]) == (
            "siglip2",
            "Apache-2.0",
            spec.params_m,
            False,
        )
        assert row["summary"].startswith("tagger: ")
    pulled = runner.invoke(cli, ["models", "pull", "siglip2-base"])
    assert isinstance(pulled.exception, ConfigError) and "HF_HUB_OFFLINE is set" in str(pulled.exception)
