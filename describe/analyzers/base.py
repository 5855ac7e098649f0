"""The analyzer protocol and the base class every built-in analyzer uses.

An analyzer looks at a PreparedImage (and the Facts found before it, the same struct
the describer returns, with the fields not yet computed left None) and returns one
typed fact struct. Model-backed analyzers load once, lazily or
eagerly, behind a lock, and stay resident for the life of the process.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import msgspec

from describe.errors import ConfigError, ModelError
from describe.facts import Facts
from describe.intake import PreparedImage

if TYPE_CHECKING:
    from describe.render.profiles import Profile


@runtime_checkable
class Analyzer(Protocol):
    name: str
    produces: str  # a field of Facts
    requires: tuple[str, ...]  # Facts fields that must be computed first

    def load(self) -> None: ...

    def analyze(self, image: PreparedImage, facts: Facts | None = None) -> Any: ...


@runtime_checkable
class ProfileCaptioner(Protocol):
    """A captioner whose output depends on the profile (its prompt, its length) and
    that captions several images in one batch. The Describer calls caption() instead
    of analyze() when an analyzer has it."""

    def caption(
        self, images: Sequence[PreparedImage], facts: Sequence[Facts], profile: Profile | None
    ) -> list[Any]: ...


class AnalyzerOptions(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What every analyzer takes (`[analyzers.NAME]` in imgdesc.toml, and what the
    Describer passes). An analyzer with options of its own subclasses this as its
    `Options`: an unknown key or a wrong type is then a ConfigError naming it, where a
    typo used to be ignored without a word."""

    threads: int = 2


class CaptionerOptions(AnalyzerOptions):
    download: bool = False  # the Describer passes its download_models to every captioner


def parse_options(options_type: type[AnalyzerOptions], options: dict[str, Any], name: str) -> Any:
    try:
        return msgspec.convert(options, options_type, strict=False)
    except msgspec.ValidationError as exc:
        valid = ", ".join(options_type.__struct_fields__)
        raise ConfigError(f"options of the {name} analyzer: {exc} (valid: {valid})") from None


class BaseAnalyzer(ABC):
    """Idempotent, thread-safe load(); subclasses write only _load and _analyze."""

    name: ClassVar[str]
    produces: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    #: Set by model-free analyzers so load() is a no-op.
    needs_model: ClassVar[bool] = True
    #: Capabilities the Describer reads off the class when it builds an analyzer (a
    #: plugin that implements only the Analyzer protocol has none of them):
    #: the loaded captioners are passed in as `captioners` (the prompt check reads them)
    uses_captioners: ClassVar[bool] = False
    #: the describer's `trim_memory` setting is passed in (it hands freed heap back mid-analysis)
    trims_memory: ClassVar[bool] = False

    #: the options struct; `self.opts` holds the parsed options
    Options: ClassVar[type[AnalyzerOptions]] = AnalyzerOptions

    def __init__(self, **options: Any) -> None:
        self.opts: Any = parse_options(self.Options, options, self.name)
        self._loaded = not self.needs_model
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            try:
                self._load()
            except ModelError:
                raise
            except Exception as exc:  # a broken runtime or missing file: say which model
                raise ModelError(f"cannot load the {self.name} analyzer: {exc}") from exc
            self._loaded = True

    def analyze(self, image: PreparedImage, facts: Facts | None = None) -> Any:
        """The fact this analyzer produces; `facts` holds what the analyzers before it
        found (None: nothing yet, as when an analyzer is run on its own)."""
        self.load()
        return self._analyze(image, facts or Facts(width=image.width, height=image.height))

    def _load(self) -> None:  # noqa: B027 - optional hook, model-free analyzers skip it
        pass

    @abstractmethod
    def _analyze(self, image: PreparedImage, facts: Facts) -> Any: ...
