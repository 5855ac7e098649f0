"""The classic captioner: one sentence from the detector's and classifier's facts.

Vision-language captioners register under other names and produce the same
Caption fact, so profiles and the renderer never care which one ran.
"""

from __future__ import annotations

from typing import Any

from describe.analyzers.base import BaseAnalyzer
from describe.facts import Caption
from describe.intake import PreparedImage
from describe.phrases import classic_caption
from describe.registry import register


@register("classic", "offline")
class ClassicCaptioner(BaseAnalyzer):
    name = "classic"
    produces = "caption"
    requires = ("objects", "labels", "text")
    needs_model = False

    def _analyze(self, image: PreparedImage, facts: dict[str, Any]) -> Caption:
        text = facts.get("text")
        sentence = classic_caption(
            facts.get("objects"),
            facts.get("labels"),
            has_text=bool(text and text.text),
            min_label_score=float(self.options.get("min_label_score", 0.3)),
        )
        return Caption(sentence, self.name)
