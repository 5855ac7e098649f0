"""The Describer: resident analyzers + profiles → Description.

One Describer lives for the life of a process (CLI run, server, indexer).
Analyzers are created on first use and kept; inference is serialised by one
lock because the model runtimes underneath are not safe to share across
threads, and each already uses every core it is given.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from describe.analyzers.base import Analyzer, ProfileCaptioner
from describe.config import DescribeSettings
from describe.errors import ModelError, NotLoadedError, UnknownNameError
from describe.facts import FACT_FIELDS, Description, Facts
from describe.intake import PreparedImage, load_image
from describe.memory import release_freed_memory
from describe.registry import DEFAULT as DEFAULT_REGISTRY
from describe.registry import Registry
from describe.render.creative import set_doubts_aside
from describe.render.paragraph import render
from describe.render.profiles import Profile, ProfileSet
from describe.render.tags import build_tags

DEFAULT_ANALYZERS = {fact: fact for fact in FACT_FIELDS if fact != "caption"}
AUTO = "auto"  # the configured VLM when its weights are here or can be fetched, else classic
log = logging.getLogger("describe")


def size_shared_pools(threads: int) -> None:
    """Thread pools that belong to the process, not to one analyzer: OpenCV's (the
    detector, colours, composition and OCR pre-processing all use it). Sized once from
    the `threads` setting; an analyzer's own `threads` option only sizes its own session
    (ONNX Runtime, LiteRT). Torch's pool is the VLM's alone and is set when it loads."""
    import cv2

    cv2.setNumThreads(max(1, threads))


class Describer:
    def __init__(
        self,
        settings: DescribeSettings | None = None,
        profiles: ProfileSet | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.settings = settings or DescribeSettings()
        self.profiles = profiles or ProfileSet.load(self.settings.profiles_file)
        # the analyzer classes by name: the built-ins and plugins unless a caller passes its own
        self.registry = registry or DEFAULT_REGISTRY
        size_shared_pools(self.settings.threads)
        self._analyzers: dict[str, Analyzer] = {}
        self._create_lock = threading.Lock()
        self._run_lock = threading.Lock()
        # Fail early on bad names in config, with the list of valid ones.
        self.profiles.get(self.settings.profile)
        for fact in DEFAULT_ANALYZERS:
            self._analyzer_name(fact, None)
        self._auto_lock = threading.Lock()
        self._auto_untried = False  # auto chose a model that has not been loaded yet
        self._captioner = self._resolve_captioner(self.settings.captioner)

    @property
    def captioner(self) -> str:
        """The captioner in use, with `auto` resolved (to a model, or to classic)."""
        return self._captioner

    def _resolve_captioner(self, name: str) -> str:
        if name != AUTO:
            try:
                self.registry.get(name, "captioner", "caption")
            except UnknownNameError as exc:
                raise UnknownNameError("captioner", name, [*exc.valid, AUTO]) from None
            return name
        from describe.analyzers.vlm.auto import choose, first_notice

        vlm = self.settings.vlm
        self.registry.get(vlm, "captioner", "caption")
        fallback = self.settings.fallback_captioner
        options = self.settings.analyzers.get(vlm, {})
        chosen, reason = choose(vlm, options, self.settings.download_models, fallback)
        if chosen == fallback:
            level = logging.WARNING if first_notice(reason) else logging.INFO  # once per machine
            log.log(level, "captioner auto: %s; using %s", reason, fallback)
        else:
            log.info("captioner auto: %s (%s)", chosen, reason)
            self._auto_untried = True
        return chosen

    def _caption_name(self, captioner: str | None) -> str:
        if captioner and captioner != AUTO:
            return captioner
        # auto's model is loaded once here, so a failure (a broken download, no GPU
        # memory) falls back to classic instead of failing every image
        with self._auto_lock:
            if self._auto_untried:
                self._auto_untried = False
                try:
                    self.analyzer(self._captioner, "caption").load()
                except ModelError as exc:
                    log.warning("captioner auto: %s; using %s", exc.message, self.settings.fallback_captioner)
                    self._captioner = self.settings.fallback_captioner
        return self._captioner

    def loaded_captioners(self) -> list[str]:
        """Captioners this process can use without loading a model: the active one,
        classic (model-free) and any other captioner already loaded."""
        with self._create_lock:
            resident = [(n, a) for n, a in self._analyzers.items() if a.produces == "caption"]
        loaded = {n for n, a in resident if getattr(a, "loaded", True)}
        return sorted(loaded | {self.captioner, self.settings.fallback_captioner})

    def check_loaded(self, captioner: str | None) -> None:
        """For callers that must not load a model per request (the REST API)."""
        if captioner is None or captioner == AUTO:
            return
        self.registry.get(captioner, "captioner", "caption")
        loaded = self.loaded_captioners()
        if captioner not in loaded:
            raise NotLoadedError(
                f"captioner {captioner!r} is not loaded here; loaded: {', '.join(loaded)} "
                f"(start with --captioner {captioner} to use it)",
                {"loaded": loaded},
            )

    def _analyzer_name(self, fact: str, captioner: str | None) -> str:
        if fact == "caption":
            return self._caption_name(captioner)
        name = self.settings.use.get(fact, DEFAULT_ANALYZERS[fact])
        self.registry.get(name, f"{fact} analyzer", fact)
        return name

    def analyzer(self, name: str, fact: str) -> Analyzer:
        """The resident instance for a registered name, created once."""
        with self._create_lock:
            if name not in self._analyzers:
                kind = "captioner" if fact == "caption" else f"{fact} analyzer"
                cls = self.registry.get(name, kind, fact)
                offered: dict[str, Any] = {"threads": self.settings.threads}
                if fact == "caption":
                    offered["download"] = self.settings.download_models
                if getattr(cls, "uses_captioners", False):
                    offered["captioners"] = self.resident_captioner  # the prompt check's grounding
                if getattr(cls, "trims_memory", False):  # it hands freed heap back mid-analysis
                    offered["trim_memory"] = self.settings.trim_memory
                # what the describer offers goes only where the analyzer's options struct has
                # room for it; the user's [analyzers.NAME] options are checked strictly
                takes = getattr(getattr(cls, "Options", None), "__struct_fields__", None)
                options = {k: v for k, v in offered.items() if takes is None or k in takes}
                options.update(self.settings.analyzers.get(name, {}))
                self._analyzers[name] = self.registry.create(name, kind, fact, **options)
            return self._analyzers[name]

    def resident_captioner(self, name: str) -> Analyzer | None:
        """The captioner called `name` (a Caption's source) if this process holds it."""
        with self._create_lock:
            held = [a for a in self._analyzers.values() if a.produces == "caption" and a.name == name]
        return held[0] if held else None

    def plan(self, profile: Profile, captioner: str | None = None) -> list[Analyzer]:
        """The analyzers a profile needs, each after the facts it requires."""
        wanted = [f for f in FACT_FIELDS if f in profile.facts]
        ordered: list[Analyzer] = []
        done: set[str] = set()
        while wanted:
            for fact in wanted:
                analyzer = self.analyzer(self._analyzer_name(fact, captioner), fact)
                # a requirement outside the profile is simply absent, not waited for
                if all(r in done or r not in wanted for r in analyzer.requires):
                    ordered.append(analyzer)
                    done.add(fact)
                    wanted.remove(fact)
                    break
            else:
                raise RuntimeError(f"analyzers require each other in a cycle: {wanted}")
        return ordered

    def load(self, profile: str | None = None, captioner: str | None = None) -> None:
        """Load every model the profile needs now, so the first request is not slow.
        The captioner first: missing weights are then reported before seconds of other loading."""
        plan = self.plan(self.profiles.get(profile or self.settings.profile), captioner)
        for analyzer in sorted(plan, key=lambda a: a.produces != "caption"):
            analyzer.load()

    def analyze(
        self, image: PreparedImage, profile: Profile, captioner: str | None = None
    ) -> tuple[Facts, dict[str, float]]:
        [(facts, timings)] = self.analyze_batch([image], profile, captioner)
        return facts, timings

    def analyze_batch(
        self, images: Sequence[PreparedImage], profile: Profile, captioner: str | None = None
    ) -> list[tuple[Facts, dict[str, float]]]:
        """Facts for several images. A captioner that batches (the VLMs) sees them all
        at once, which fills a GPU and amortises per-call overhead on a CPU."""
        found = [Facts(width=image.width, height=image.height) for image in images]
        timings: list[dict[str, float]] = [{} for _ in images]
        with self._run_lock:
            for analyzer in self.plan(profile, captioner):
                if isinstance(analyzer, ProfileCaptioner):
                    start = time.perf_counter()
                    results = analyzer.caption(images, found, profile)
                    share = round((time.perf_counter() - start) * 1000 / max(1, len(images)), 1)
                    for i, (spent, result) in enumerate(zip(timings, results, strict=True)):
                        found[i] = msgspec.structs.replace(found[i], **{analyzer.produces: result})
                        spent[analyzer.name] = share
                    continue
                for i, (image, spent) in enumerate(zip(images, timings, strict=True)):
                    start = time.perf_counter()
                    result = analyzer.analyze(image, found[i])
                    found[i] = msgspec.structs.replace(found[i], **{analyzer.produces: result})
                    spent[analyzer.name] = round((time.perf_counter() - start) * 1000, 1)
            if self.settings.trim_memory:
                start = time.perf_counter()
                release_freed_memory()
                trim = round((time.perf_counter() - start) * 1000 / max(1, len(images)), 1)
                for spent in timings:
                    spent["trim"] = trim
        return list(zip(found, timings, strict=True))

    def describe(
        self,
        source: str | Path | bytes,
        *,
        profile: str | None = None,
        captioner: str | None = None,
        name: str | None = None,
        prompt: str | None = None,
    ) -> Description:
        """`prompt`: the generation prompt to check the image against, instead of the file's."""
        # check the names before decoding, so a typo is reported as such
        self.profiles.get(profile or self.settings.profile)
        if captioner and captioner != AUTO:
            self.registry.get(captioner, "captioner", "caption")
        start = time.perf_counter()
        image = load_image(source, self.settings.limits, name=name)
        decode_ms = round((time.perf_counter() - start) * 1000, 1)
        return self.describe_image(
            image, profile=profile, captioner=captioner, decode_ms=decode_ms, prompt=prompt
        )

    def describe_image(
        self,
        image: PreparedImage,
        *,
        profile: str | None = None,
        captioner: str | None = None,
        decode_ms: float = 0.0,
        prompt: str | None = None,
    ) -> Description:
        chosen = self.profiles.get(profile or self.settings.profile)
        if prompt is not None and prompt.strip():
            image = dataclasses.replace(image, prompt=prompt)  # the caller's prompt wins over the file's
        facts, timings = self.analyze(image, chosen, captioner)
        timings["decode"] = decode_ms
        return self.compose(facts, chosen, timings)

    def compose(
        self, facts: Facts, profile: Profile | str, timings: dict[str, float] | None = None
    ) -> Description:
        """Render facts with a profile. Facts from one analysis can be rendered with
        several profiles (the indexer stores the paragraph and the alt text)."""
        chosen = self.profiles.get(profile) if isinstance(profile, str) else profile
        timings = dict(timings or {})
        start = time.perf_counter()
        facts = set_doubts_aside(facts)  # what a creative's copy contradicts is not named
        tags = build_tags(facts, chosen.tags)
        text = render(facts, chosen, tags)
        timings["render"] = round((time.perf_counter() - start) * 1000, 1)
        timings["total"] = round(sum(v for k, v in timings.items() if k != "total"), 1)
        return Description(
            description=text,
            tags=[t.name for t in tags],
            tag_details=tags,
            colors=list(facts.colours.palette) if facts.colours else [],
            composition=facts.composition,
            objects=list(facts.objects.counts) if facts.objects else [],
            labels=list(facts.labels.labels) if facts.labels else [],
            text=facts.text.text if facts.text else "",
            caption=facts.caption.text if facts.caption else None,
            captioner=facts.caption.source if facts.caption else "none",
            profile=chosen.name,
            width=facts.width,
            height=facts.height,
            timings_ms=timings,
            prompt_check=facts.prompt_check,
            provenance=facts.provenance,
            creative=facts.creative if facts.creative and facts.creative.kind else None,
        )
