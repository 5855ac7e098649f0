"""ImageLabeler: EfficientNet-Lite3 on real photos, and the curated ImageNet category map."""

from __future__ import annotations

import numpy as np
import pytest

from describe import registry
from describe.analyzers.labels import ImageLabeler
from describe.errors import ConfigError
from describe.facts import Label, LabelFacts
from describe.intake import load_image
from describe.knowledge.labels import model_file
from describe.knowledge.taxonomy import category_of, is_place, taxonomy
from tests.conftest import encode

CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def labeler() -> ImageLabeler:
    model = ImageLabeler(threads=2)
    model.load()
    return model


def label(labeler: ImageLabeler, array: np.ndarray) -> LabelFacts:
    facts = labeler.analyze(load_image(encode(array)))
    assert isinstance(facts, LabelFacts)
    scores = [lab.best for lab in facts.labels]
    assert scores == sorted(scores, reverse=True)
    assert all(labeler.min_score <= s <= 1.0 for s in scores)
    return facts


def label_names() -> list[str]:
    return model_file("efficientnet_labels.txt").read_text(encoding="utf-8").splitlines()


def test_registered_with_alias() -> None:
    assert registry.get("labels") is ImageLabeler
    assert registry.get("classifier") is ImageLabeler


def test_category_map_covers_every_class_with_allowed_values() -> None:
    tax = taxonomy()
    assert len(tax.by_index) == len(label_names()) == 1000
    assert set(tax.by_index) <= set(tax.categories)
    assert {"animal", "food", "vehicle", "landscape", "building", "object"} <= set(tax.by_index)
    assert tax.place_categories <= set(tax.categories)
    assert category_of(1000) == category_of(-1) == "object"


@pytest.mark.parametrize(
    ("index", "category"),
    [
        (0, "animal"),  # tench
        (151, "animal"),  # Chihuahua
        (281, "animal"),  # tabby
        (404, "vehicle"),  # airliner
        (504, "container"),  # coffee mug
        (559, "furniture"),  # folding chair
        (620, "device"),  # laptop
        (652, "clothing"),  # military uniform
        (698, "building"),  # palace
        (718, "structure"),  # pier
        (889, "instrument"),  # violin
        (954, "food"),  # banana
        (967, "drink"),  # espresso
        (978, "landscape"),  # seashore
        (981, "person"),  # ballplayer
        (985, "plant"),  # daisy
    ],
)
def test_known_categories(index: int, category: str) -> None:
    assert category_of(index) == category


def test_places_name_real_labels() -> None:
    tax = taxonomy()
    names = {line.split(",")[0].strip() for line in label_names()} | set(tax.names.values())
    assert tax.places <= names
    assert all(0 <= i < 1000 for i in tax.names)
    assert is_place(Label("seashore", 0.5, "landscape"))
    assert is_place(Label("palace", 0.5, "building"))
    assert is_place(Label("pier", 0.5, "structure"))
    assert not is_place(Label("picket fence", 0.5, "structure"))
    assert not is_place(Label("espresso", 0.9, "drink"))


@pytest.mark.slow
def test_load_is_idempotent(labeler: ImageLabeler) -> None:
    interpreter = labeler._interpreter
    labeler.load()
    labeler.load()
    assert labeler.loaded and labeler._interpreter is interpreter


@pytest.mark.slow
def test_espresso_on_coffee(labeler: ImageLabeler, photos: dict[str, np.ndarray]) -> None:
    top = label(labeler, photos["coffee"]).labels[0]
    assert top.name == "espresso" and top.category == "drink" and top.score > 0.5


@pytest.mark.slow
def test_cat_on_chelsea(labeler: ImageLabeler, photos: dict[str, np.ndarray]) -> None:
    top = label(labeler, photos["chelsea"]).labels[0]
    assert top.name in CATS and top.category == "animal" and top.score > 0.5


@pytest.mark.slow
def test_temple_is_a_place(labeler: ImageLabeler, photos: dict[str, np.ndarray]) -> None:
    facts = label(labeler, photos["china"])
    setting = [lab for lab in facts.labels if is_place(lab)]  # what candidates.setting() reads
    assert setting and setting[0] == facts.labels[0] and setting[0].category == "building"
    assert "palace" in {lab.name for lab in setting}


@pytest.mark.slow
def test_photo_of_a_camera_on_a_tripod(labeler: ImageLabeler, photos: dict[str, np.ndarray]) -> None:
    grey = np.stack([photos["camera"]] * 3, axis=-1)
    top = label(labeler, grey).labels[0]
    assert top.name == "tripod" and top.category == "device" and top.score > 0.5
    assert not any(is_place(lab) for lab in label(labeler, grey).labels)


@pytest.mark.slow
@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_image_has_no_confident_label(labeler: ImageLabeler, value: int) -> None:
    facts = label(labeler, np.full((480, 640, 3), value, dtype=np.uint8))
    assert all(lab.score < 0.5 for lab in facts.labels)


@pytest.mark.slow
def test_names_and_synonyms_come_from_the_label_line(labeler: ImageLabeler) -> None:
    probs = np.zeros(1000, dtype=np.float32)
    probs[[281, 608, 673, 967]] = [0.5, 0.2, 0.15, 0.02]
    facts = labeler.postprocess(probs)
    assert [lab.name for lab in facts.labels] == ["tabby", "jeans", "computer mouse"]  # 0.02 < min_score
    tabby, jeans, mouse = facts.labels
    assert tabby.synonyms == ("tabby cat",) and tabby.category == "animal"
    assert jeans.synonyms == ("jean", "blue jean", "denim") and jeans.category == "clothing"
    assert mouse.synonyms == ("mouse",) and mouse.category == "device"


@pytest.mark.slow
def test_crops_rank_by_the_best_score_but_keep_the_whole_image_score(labeler: ImageLabeler) -> None:
    whole = np.zeros(1000, dtype=np.float32)
    regions = np.zeros(1000, dtype=np.float32)
    whole[[985, 92]] = [0.4, 0.05]  # daisy over the whole frame, a bee eater barely
    regions[[985, 92]] = [0.3, 0.6]  # … but the bee eater wins in a quadrant
    facts = labeler.postprocess(whole, regions)
    bird, daisy = facts.labels
    assert (bird.name, bird.score, bird.region_score, bird.best) == ("bee eater", 0.05, 0.6, 0.6)
    assert (daisy.name, daisy.score, daisy.region_score) == ("daisy", 0.4, 0.3)
    assert "bird" in bird.hypernyms and "flower" in daisy.hypernyms


def test_crops_are_halves_quadrants_or_none() -> None:
    from PIL import Image

    from describe.analyzers.labels import crops

    landscape, portrait = Image.new("RGB", (400, 300)), Image.new("RGB", (300, 400))
    assert [p.size for p in crops(landscape)] == [(200, 300)] * 2  # left and right
    assert [p.size for p in crops(portrait)] == [(300, 200)] * 2  # top and bottom
    assert [p.size for p in crops(landscape, "quadrants")] == [(200, 150)] * 4
    assert crops(landscape, "none") == []
    with pytest.raises(ConfigError, match="crops must be one of"):
        ImageLabeler(crops="thirds")


@pytest.mark.slow
def test_a_small_off_centre_subject_is_found_in_a_crop(photos: dict[str, np.ndarray]) -> None:
    # the cat photo shrunk into one corner of a plain grey frame: the whole image is
    # mostly grey, the top-left quadrant is mostly cat
    cat = np.asarray(load_image(encode(photos["chelsea"])).image.resize((150, 120)))
    frame = np.full((480, 640, 3), 128, dtype=np.uint8)
    frame[20:140, 20:170] = cat
    with_crops = ImageLabeler(crops="quadrants").analyze(load_image(encode(frame)))
    without = ImageLabeler(crops="none").analyze(load_image(encode(frame)))
    cats = [lab for lab in with_crops.labels if lab.name in CATS]
    assert cats and max(lab.region_score for lab in cats) > 0.3
    best_without = max((lab.score for lab in without.labels if lab.name in CATS), default=0.0)
    assert max(lab.region_score for lab in cats) > best_without
    assert all(lab.region_score == 0.0 for lab in without.labels)


@pytest.mark.slow
def test_top_k_and_min_score_options(photos: dict[str, np.ndarray]) -> None:
    image = load_image(encode(photos["china"]))
    assert len(ImageLabeler(top_k=2, min_score=0.0).analyze(image).labels) == 2
    assert len(ImageLabeler(top_k=50, min_score=0.0).analyze(image).labels) == 50
    assert ImageLabeler(min_score=0.99).analyze(image) == LabelFacts()
