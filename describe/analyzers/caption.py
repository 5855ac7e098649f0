"""The classic captioner: one sentence from the other analyzers' facts.

Which fact leads (objects, a label, a sign's text, a kind, or what the pixels say) and
how sure each part is are decided in describe/render/phrases.py; the words come from the
template in describe/data/caption.toml, or from the `template` option
(``[analyzers.classic] template = "…"`` in imgdesc.toml).

Vision-language captioners register under other names and produce the same
Caption fact, so profiles and the renderer never care which one ran.
"""

from __future__ import annotations

from typing import Any

import jinja2

from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.errors import ConfigError
from describe.facts import Caption, Facts, ObjectCount, ObjectFacts
from describe.intake import PreparedImage
from describe.registry import register
from describe.render import creative
from describe.render.phrases import CaptionParts, caption_parts, render_caption

DEFAULT_MIN_LABEL_SCORE = 0.3


class ClassicOptions(AnalyzerOptions):
    min_label_score: float = DEFAULT_MIN_LABEL_SCORE
    template: str | None = None  # a Jinja sentence template in place of describe/data/caption.toml's


@register("classic", "offline")
class ClassicCaptioner(BaseAnalyzer):
    name = "classic"
    Options = ClassicOptions
    opts: ClassicOptions
    produces = "caption"
    requires = ("objects", "labels", "text", "colours", "composition", "creative")
    needs_model = False

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.min_label_score = float(self.opts.min_label_score)
        self.template: str | None = self.opts.template
        if self.template is not None:
            _check(self.template)

    def _analyze(self, image: PreparedImage, facts: Facts) -> Caption:
        if facts.creative and facts.creative.kind:
            # a marketing image: what it is and what it offers says more than the
            # classifier's nearest photo ("a guitar pick" for a drawn sneaker)
            return Caption(creative.lead(facts.creative, facts.colours), self.name)
        parts = caption_parts(
            facts.objects,
            facts.labels,
            facts.text,
            self.min_label_score,
            colours=facts.colours,
            composition=facts.composition,
        )
        return Caption(render_caption(parts, self.template), self.name, objects=parts.nouns())


def _check(template: str) -> None:
    """A user's caption template must render for every kind of lead, or fail at start-up."""
    samples = [
        caption_parts(ObjectFacts(counts=(ObjectCount("cup", 2, 0.9),)), None, None, DEFAULT_MIN_LABEL_SCORE),
        *(CaptionParts(lead=lead) for lead in ("sign", "scene")),
    ]
    try:
        for parts in samples:
            render_caption(parts, template)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"classic captioner template, line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"classic captioner template: {exc.message}") from None
    except Exception as exc:  # filters raise plain errors on bad input types
        raise ConfigError(f"classic captioner template: {type(exc).__name__}: {exc}") from None
