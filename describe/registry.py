"""Name → analyzer class, with aliases. Built-ins register exactly as a plugin would.

A third-party package can add analyzers or captioners through the
``imgdesc.analyzers`` entry-point group; each entry point is a module that
calls ``register`` when imported.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any, TypeVar

from describe.errors import UnknownNameError

T = TypeVar("T", bound=type)

_REGISTRY: dict[str, type] = {}
_ALIASES: dict[str, str] = {}
_BUILTINS = (
    "describe.analyzers.objects",
    "describe.analyzers.labels",
    "describe.analyzers.text",
    "describe.analyzers.colours",
    "describe.analyzers.composition",
    "describe.analyzers.caption",
    "describe.analyzers.provenance",
    "describe.analyzers.prompt_check",
    "describe.analyzers.vlm.florence",
    "describe.analyzers.vlm.smolvlm",
    "describe.analyzers.vlm.qwen",
    "describe.analyzers.vlm.blip",
)
_discovered = False


def register(name: str, *aliases: str) -> Callable[[T], T]:
    def decorator(cls: T) -> T:
        _REGISTRY[name] = cls
        for alias in aliases:
            _ALIASES[alias] = name
        return cls

    return decorator


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for module in _BUILTINS:
        import_module(module)
    for ep in entry_points(group="imgdesc.analyzers"):
        ep.load()


def _produces(cls: type) -> str:
    return str(getattr(cls, "produces", ""))


def names(produces: str | None = None) -> list[str]:
    """Registered names, optionally only those producing one Facts field (e.g. "caption")."""
    _discover()
    return sorted(n for n, cls in _REGISTRY.items() if produces is None or _produces(cls) == produces)


def get(name: str, kind: str = "analyzer", produces: str | None = None) -> type:
    _discover()
    cls = _REGISTRY.get(_ALIASES.get(name, name))
    if cls is None or (produces is not None and _produces(cls) != produces):
        raise UnknownNameError(kind, name, names(produces))
    return cls


def create(name: str, kind: str = "analyzer", produces: str | None = None, **options: Any) -> Any:
    return get(name, kind, produces)(**options)
