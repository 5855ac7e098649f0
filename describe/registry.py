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

_BUILTINS = (
    "describe.analyzers.objects",
    "describe.analyzers.labels",
    "describe.analyzers.text",
    "describe.analyzers.colours",
    "describe.analyzers.composition",
    "describe.analyzers.creative",
    "describe.analyzers.caption",
    "describe.analyzers.provenance",
    "describe.analyzers.prompt_check",
    "describe.analyzers.vlm.florence",
    "describe.analyzers.vlm.smolvlm",
    "describe.analyzers.vlm.qwen",
    "describe.analyzers.vlm.blip",
    "describe.analyzers.siglip.tagger",
)
ENTRY_POINT_GROUP = "imgdesc.analyzers"


class Registry:
    """Name (or alias) → analyzer class. The Describer gets one passed in; DEFAULT is the
    one the built-ins and plugins register into, and what the entry points use."""

    def __init__(self, modules: tuple[str, ...] = (), group: str | None = None) -> None:
        self._classes: dict[str, type] = {}
        self._aliases: dict[str, str] = {}
        self._modules, self._group = modules, group
        self._discovered = not modules and group is None

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        """A class decorator: `@register("objects", "detector")`."""

        def decorator(cls: T) -> T:
            self._classes[name] = cls
            for alias in aliases:
                self._aliases[alias] = name
            return cls

        return decorator

    def unregister(self, name: str) -> None:
        """Drop a name and its aliases (tests that add fakes take them out again)."""
        self._classes.pop(name, None)
        for alias in [a for a, target in self._aliases.items() if target == name]:
            del self._aliases[alias]

    def copy(self) -> Registry:
        """A registry with everything this one has (built-ins and plugins discovered
        first), to extend without changing this one: a test's fakes, an app's own set."""
        self._discover()
        other = Registry()
        other._classes, other._aliases = dict(self._classes), dict(self._aliases)
        return other

    def _discover(self) -> None:
        # imported lazily: each analyzer module pulls its runtime (OpenCV, LiteRT, …)
        if self._discovered:
            return
        self._discovered = True
        for module in self._modules:
            import_module(module)
        if self._group:
            for ep in entry_points(group=self._group):
                ep.load()

    def names(self, produces: str | None = None) -> list[str]:
        """Registered names, optionally only those producing one Facts field (e.g. "caption")."""
        self._discover()
        return sorted(n for n, cls in self._classes.items() if produces is None or _produces(cls) == produces)

    def get(self, name: str, kind: str = "analyzer", produces: str | None = None) -> type:
        self._discover()
        cls = self._classes.get(self._aliases.get(name, name))
        if cls is None or (produces is not None and _produces(cls) != produces):
            raise UnknownNameError(kind, name, self.names(produces))
        return cls

    def create(self, name: str, kind: str = "analyzer", produces: str | None = None, **options: Any) -> Any:
        return self.get(name, kind, produces)(**options)


def _produces(cls: type) -> str:
    return str(getattr(cls, "produces", ""))


DEFAULT = Registry(_BUILTINS, ENTRY_POINT_GROUP)
# what analyzer modules and plugins call, and the read side for callers with no Describer
register = DEFAULT.register
unregister = DEFAULT.unregister
names = DEFAULT.names
get = DEFAULT.get
create = DEFAULT.create
