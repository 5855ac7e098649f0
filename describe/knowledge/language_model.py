"""py3langid's model as plain arrays in the model cache, mapped rather than unpacked.

The wheel ships the model LZMA-compressed. Loading it the library's way unpacks all of
it into the heap at every start: 0.5 s, a 100 MB spike (it had set `imgdesc index`'s
peak) and ~47 MB that stay resident in every process that may meet a creative, 39 MB of
it the byte-n-gram automaton (9.8 M state moves). English and the other candidates walk
a small part of that automaton, and an idle server walks none of it. So `imgdesc models
prepare` (and otherwise the first load) writes the arrays once, uncompressed, into the
model cache, and a start maps them: only the pages a text touches are read, and they are
clean file pages the kernel can drop again. The same model, the same answers (tested).
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from describe.errors import ModelError
from describe.local_files import default_cache_dir

PACKAGE = "py3langid"
# Bump when what is written changes: older folders are then ignored.
PREPARED_FORMAT = 1
ARRAYS = ("ptc", "pc", "nextmove", "row", "out")


def prepared_path(cache_dir: Path | None = None) -> Path:
    """The folder of arrays; the package version is in its name, so an upgraded model is
    prepared again rather than mixed with the old one."""
    version = importlib.metadata.version(PACKAGE)
    return (cache_dir or default_cache_dir()) / f"{PACKAGE}-{version}-arrays{PREPARED_FORMAT}"


def ensure_prepared(target: Path) -> Path:
    """The folder at `target`, written from the wheel's model first if it is not there.
    Written under a temporary name and renamed whole: a reader sees all of it or none."""
    if (target / "classes.json").is_file():
        return target
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model  # the library's own reader

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        ptc, pc, classes, nextmove, row, out = load_model(Path(MODEL_DIR) / MODEL_FILE)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise ModelError(f"cannot prepare the language model in {target.parent}: {exc}") from None
    try:
        arrays = (ptc, pc, nextmove, row, out)
        for name, values in zip(ARRAYS, arrays, strict=True):
            np.save(scratch / f"{name}.npy", np.asarray(values))
        # written last: its presence says the folder is whole
        (scratch / "classes.json").write_text(json.dumps(list(classes)), encoding="utf-8")
        scratch.chmod(0o755)
        try:
            scratch.rename(target)
        except OSError:
            if not (target / "classes.json").is_file():  # not another process's finished copy
                raise
    except OSError as exc:
        raise ModelError(f"cannot prepare the language model in {target.parent}: {exc}") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def open_identifier(candidates: list[str], cache_dir: Path | None = None) -> Any:
    """py3langid's identifier over the mapped arrays, restricted to `candidates`, its
    probabilities normalised over them."""
    from py3langid.langid import LanguageIdentifier

    folder = ensure_prepared(prepared_path(cache_dir))
    try:
        mapped = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        classes = json.loads((folder / "classes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"the prepared language model in {folder} is damaged ({exc}); delete it") from None
    identifier = LanguageIdentifier(
        mapped["ptc"],
        mapped["pc"],
        classes,
        mapped["nextmove"],
        mapped["out"],
        norm_probs=True,
        # Python ints: the library shifts each row offset left by 8, which numpy's
        # uint16 would wrap
        tk_row=mapped["row"].tolist(),
    )
    identifier.set_languages(candidates)
    # set_languages copied the candidates' columns into memory; the full table (28 MB,
    # all 97 languages) is only kept to widen again, which we never do: unmapped here
    identifier._full_model = (identifier.nb_ptc, identifier.nb_pc, identifier.nb_classes)
    return identifier
