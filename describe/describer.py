"""The Describer: resident analyzers + profiles → Description.

One Describer lives for the life of a process (CLI run, server, indexer).
Analyzers are created on first use and kept; inference is serialised by one
lock because the model runtimes underneath are not safe to share across
threads, and each already uses every core it is given.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from describe import registry
from describe.analyzers.base import FACT_FIELDS, Analyzer
from describe.config import DescribeSettings
from describe.facts import Description, Facts
from describe.intake import PreparedImage, load_image
from describe.memory import release_freed_memory
from describe.profiles import Profile, ProfileSet
from describe.render import render
from describe.tags import build_tags

DEFAULT_ANALYZERS = {fact: fact for fact in FACT_FIELDS if fact != "caption"}


class Describer:
    def __init__(self, settings: DescribeSettings | None = None, profiles: ProfileSet | None = None) -> None:
        self.settings = settings or DescribeSettings()
        self.profiles = profiles or ProfileSet.load(self.settings.profiles_file)
        self._analyzers: dict[str, Analyzer] = {}
        self._create_lock = threading.Lock()
        self._run_lock = threading.Lock()
        # Fail early on bad names in config, with the list of valid ones.
        self.profiles.get(self.settings.profile)
        for fact in DEFAULT_ANALYZERS:
            self._analyzer_name(fact, None)
        registry.get(self.settings.captioner, "captioner", "caption")

    @property
    def captioner(self) -> str:
        return self.settings.captioner

    def _analyzer_name(self, fact: str, captioner: str | None) -> str:
        if fact == "caption":
            return captioner or self.settings.captioner
        name = self.settings.use.get(fact, DEFAULT_ANALYZERS[fact])
        registry.get(name, f"{fact} analyzer", fact)
        return name

    def analyzer(self, name: str, fact: str) -> Analyzer:
        """The resident instance for a registered name, created once."""
        with self._create_lock:
            if name not in self._analyzers:
                kind = "captioner" if fact == "caption" else f"{fact} analyzer"
                options = {"threads": self.settings.threads, **self.settings.analyzers.get(name, {})}
                self._analyzers[name] = registry.create(name, kind, fact, **options)
            return self._analyzers[name]

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
        """Load every model the profile needs now, so the first request is not slow."""
        for analyzer in self.plan(self.profiles.get(profile or self.settings.profile), captioner):
            analyzer.load()

    def analyze(
        self, image: PreparedImage, profile: Profile, captioner: str | None = None
    ) -> tuple[Facts, dict[str, float]]:
        found: dict[str, Any] = {}
        timings: dict[str, float] = {}
        with self._run_lock:
            for analyzer in self.plan(profile, captioner):
                start = time.perf_counter()
                found[analyzer.produces] = analyzer.analyze(image, found)
                timings[analyzer.name] = round((time.perf_counter() - start) * 1000, 1)
            if self.settings.trim_memory:
                start = time.perf_counter()
                release_freed_memory()
                timings["trim"] = round((time.perf_counter() - start) * 1000, 1)
        return Facts(width=image.width, height=image.height, **found), timings

    def describe(
        self,
        source: str | Path | bytes,
        *,
        profile: str | None = None,
        captioner: str | None = None,
        name: str | None = None,
    ) -> Description:
        # check the names before decoding, so a typo is reported as such
        self.profiles.get(profile or self.settings.profile)
        if captioner:
            registry.get(captioner, "captioner", "caption")
        start = time.perf_counter()
        image = load_image(source, self.settings.limits, name=name)
        decode_ms = round((time.perf_counter() - start) * 1000, 1)
        return self.describe_image(image, profile=profile, captioner=captioner, decode_ms=decode_ms)

    def describe_image(
        self,
        image: PreparedImage,
        *,
        profile: str | None = None,
        captioner: str | None = None,
        decode_ms: float = 0.0,
    ) -> Description:
        chosen = self.profiles.get(profile or self.settings.profile)
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
        )
