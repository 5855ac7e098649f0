"""py3langid's model, prepared once as plain arrays in the model cache and mapped
(describe/knowledge/language_model.py): the same answers as the library's own loading,
nothing of the automaton read until a text walks it, prepared once."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from describe.errors import ModelError
from describe.knowledge import creative_text as ct
from describe.knowledge import language_model

TEXTS = [
    "Free shipping on all orders over fifty dollars",
    "black friday sale now on",
    "Jetzt kaufen und sparen, nur diese Woche im Laden",
    "soldes d'été jusqu'à moins cinquante pour cent",
    "rebajas de verano en toda la tienda",
    "夏のセールは今週末まで",
    "Скидки на всё до конца недели",
    "x",
    "",
]


def mapped_kb(file: Path) -> int:
    """Resident kB of this process's mappings of `file` (other tests may map their own)."""
    blocks = re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", Path("/proc/self/smaps").read_text())
    total = 0
    for block in blocks:
        resident = re.search(r"\nRss:\s+(\d+)", block)
        if resident and block.split("\n", 1)[0].endswith(" " + str(file)):
            total += int(resident.group(1))
    return total


def test_the_mapped_model_answers_as_the_library_does(tmp_path: Path) -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    candidates = list(ct.table().languages.candidates)
    mapped = language_model.open_identifier(candidates, tmp_path)
    library = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    library.set_languages(candidates)
    for text in TEXTS:
        (code, confidence), (expected, expected_confidence) = mapped.classify(text), library.classify(text)
        assert code == expected, text
        assert confidence == pytest.approx(expected_confidence, abs=1e-6), text
    assert mapped.nb_ptc.shape[1] == len(candidates)
    assert mapped._full_model[0] is mapped.nb_ptc  # the 97-language table is not kept


def test_the_automaton_is_mapped_not_read_at_load(tmp_path: Path) -> None:
    identifier = language_model.open_identifier(["en", "de"], tmp_path)
    automaton = language_model.prepared_path(tmp_path) / "nextmove.npy"
    assert isinstance(identifier.tk_nextmove, np.memmap)
    assert mapped_kb(automaton) == 0  # an idle process holds none of it
    identifier.classify(TEXTS[0])
    assert mapped_kb(automaton) > 0


def test_it_is_prepared_once(tmp_path: Path) -> None:
    folder = language_model.ensure_prepared(language_model.prepared_path(tmp_path))
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert set(written) == {f"{name}.npy" for name in language_model.ARRAYS} | {"classes.json"}
    language_model.open_identifier(["en"], tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no scratch folder left


def test_a_damaged_model_is_a_clear_error_naming_the_folder(tmp_path: Path) -> None:
    folder = language_model.ensure_prepared(language_model.prepared_path(tmp_path))
    (folder / "nextmove.npy").write_bytes(b"not an array")
    with pytest.raises(ModelError, match=re.escape(str(folder))):
        language_model.open_identifier(["en"], tmp_path)
