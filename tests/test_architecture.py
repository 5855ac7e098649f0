"""The import graph of the project's packages, read from the source with `ast`:
no cycles, and the layers point one way (describe ← indexer, search ← app).

Every `import` and `from … import` counts, at module level or inside a function:
a lazy import that dodges a cycle is still a cycle, and so does an import under
`if TYPE_CHECKING:` (the modules still depend on each other; only the order is hidden).
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("describe", "indexer", "search", "app")
# package → the packages it must not import
FORBIDDEN = {
    "describe": ("indexer", "search", "app"),
    "indexer": ("app",),
    "search": ("app",),
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


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_point_one_way(package: str) -> None:
    graph = import_graph()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if module.split(".")[0] == package and target.split(".")[0] in FORBIDDEN[package]
    )
    assert not wrong, f"{package}/ must not import {', '.join(FORBIDDEN[package])}:\n" + "\n".join(wrong)


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
