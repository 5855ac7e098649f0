"""The import graph of the project's packages, read from the source with `ast`:
no cycles, the layers point one way (describe ← catalog ← indexer, search ← app), and inside
app/ each way in keeps to its room (REST and pages share only the wiring's modules;
benchmarks and evaluation load only when their commands run).

Every `import` and `from … import` counts, at module level or inside a function:
a lazy import that dodges a cycle is still a cycle, and so does an import under
`if TYPE_CHECKING:` (the modules still depend on each other; only the order is hidden).
"""

from __future__ import annotations

import ast
import graphlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("describe", "catalog", "indexer", "search", "app")
# package → the packages it must not import
FORBIDDEN = {
    "describe": ("catalog", "indexer", "search", "app"),
    "catalog": ("indexer", "search", "app"),
    "indexer": ("search", "app"),
    "search": ("indexer", "app"),
}


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name → source file, for every module of the project's packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name the module imports, relative names resolved: `from x import y`
    gives both `x` and `x.y` (y may be a submodule; non-modules are dropped later)."""
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"), str(path))]
    while pending:
        node = pending.pop()
        pending.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                anchor = here[: len(here) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each project module → the project modules it imports."""
    modules = module_files(root)
    return {
        module: {name for name in imported_names(module, path) if name in modules and name != module}
        for module, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path that ends where it starts, or None when the graph has none."""
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(reversed(exc.args[1]))  # graphlib lists it against the import direction
    return None


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


# rooms inside describe/: the core (describer, intake, facts, registry, config, …) at the
# top; what each room must not import. Analyzers never reach back to the Describer.
DESCRIBE_FORBIDDEN = {
    "describe.knowledge": (
        "describe.analyzers",
        "describe.render",
        "describe.provenance",
        "describe.describer",
    ),
    "describe.render": ("describe.analyzers", "describe.provenance", "describe.describer"),
    "describe.provenance": ("describe.analyzers", "describe.render", "describe.describer"),
    "describe.analyzers": ("describe.describer",),
}
DESCRIBE_TOP_LEVEL_MAX = 12


def test_describe_keeps_a_small_top_level() -> None:
    top = sorted(p.stem for p in (ROOT / "describe").glob("*.py") if p.stem != "__init__")
    assert len(top) <= DESCRIBE_TOP_LEVEL_MAX, f"{len(top)} modules at describe/'s top level: {top}"


@pytest.mark.parametrize("package", sorted({**FORBIDDEN, **DESCRIBE_FORBIDDEN}))
def test_layers_point_one_way(package: str) -> None:
    """Between the packages, and between the rooms inside describe/."""
    forbidden = {**FORBIDDEN, **DESCRIBE_FORBIDDEN}[package]
    graph = import_graph()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if in_package(module, (package,))
        for target in targets
        if in_package(target, forbidden)
    )
    assert not wrong, f"{package}/ must not import {', '.join(forbidden)}:\n" + "\n".join(wrong)


def test_the_check_finds_a_cycle_made_of_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The graph sees imports inside functions and relative ones, so it catches the
    kind of cycle this project once dodged with a function-level import."""
    package = tmp_path / "describe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "profiles.py").write_text("def check():\n    from .render import render\n")
    (package / "render.py").write_text("from describe.profiles import check\n")
    for other in PACKAGES[1:]:
        (tmp_path / other).mkdir()
    cycle = find_cycle(import_graph(tmp_path))
    assert cycle is not None
    assert sorted(cycle[:-1]) == ["describe.profiles", "describe.render"]
    assert cycle[0] == cycle[-1]
    # and without the lazy import the same tree has none
    (package / "profiles.py").write_text("def check():\n    pass\n")
    assert find_cycle(import_graph(tmp_path)) is None


# --- rooms inside app/ ---------------------------------------------------------------

DEV_TOOLING = ("app.dev",)
DEV_PACKAGES = ("matplotlib", "skimage", "sklearn")
# What a controller may import from app/: the wiring's shared modules and its own room.
CONTROLLER_ALLOWED = ("app.auth", "app.config", "app.errors", "app.runtime", "app.services", "app.work")
ROOMS = ("app.api", "app.web")


def in_package(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def top_level_imports(module: str, path: Path) -> set[str]:
    """The names imported by the module's own top-level statements (not inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top = ast.Module(body=[n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.ClassDef)])
    names = set()
    for node in ast.walk(top):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update({node.module, *(f"{node.module}.{alias.name}" for alias in node.names)})
    return names


def test_the_server_and_the_cli_import_no_dev_tooling() -> None:
    """What a wheel runs (the server, the CLI root and every command's module) loads
    no benchmark or evaluation code and none of the dev-only packages."""
    code = (
        "import sys, json, app.server, app.cli; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in sys.argv[1:] "
        "or any(m == p or m.startswith(p + '.') for p in sys.argv[1:]))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, *DEV_TOOLING, *DEV_PACKAGES],
        capture_output=True, text=True, cwd=ROOT, check=True, timeout=120,
    )  # fmt: skip
    loaded = json.loads(run.stdout.splitlines()[-1])
    assert loaded == [], f"the runtime path imported dev-only modules: {loaded}"


def test_only_the_dev_commands_import_dev_tooling_and_only_when_they_run() -> None:
    graph = import_graph()
    dev_commands = {"app.cli.bench", "app.cli.evaluate", "app.cli.models"}
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if in_package(target, DEV_TOOLING)
        and not in_package(module, DEV_TOOLING)
        and module not in dev_commands
    )
    assert not wrong, "only app/dev and the dev commands may use it:\n" + "\n".join(wrong)
    modules = module_files(ROOT)
    eager = sorted(
        f"{module} imports {name} at module level"
        for module in dev_commands
        for name in top_level_imports(module, modules[module])
        if in_package(name, DEV_TOOLING)
    )
    assert not eager, "the dev commands import their tooling inside the command:\n" + "\n".join(eager)


@pytest.mark.parametrize("room", ROOMS)
def test_controllers_import_only_shared_modules_and_their_own_room(room: str) -> None:
    graph = import_graph()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if in_package(module, (room,))
        for target in targets
        if target.split(".")[0] == "app" and target != "app"
        and not in_package(target, (room, *CONTROLLER_ALLOWED))
    )  # fmt: skip
    allowed = ", ".join(CONTROLLER_ALLOWED)
    assert not wrong, f"{room} may import only {allowed} and itself:\n" + "\n".join(wrong)


def test_the_shared_modules_import_no_room() -> None:
    """errors, runtime, services and work are what the rooms share: they must not lean
    on a room (or the server, the CLI or the dev tools) themselves."""
    graph = import_graph()
    rooms = (*ROOMS, "app.cli", "app.server", *DEV_TOOLING)
    wrong = sorted(
        f"{module} imports {target}"
        for module in CONTROLLER_ALLOWED
        for target in graph[module]
        if in_package(target, rooms)
    )
    assert not wrong, "\n".join(wrong)
