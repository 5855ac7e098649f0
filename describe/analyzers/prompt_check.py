"""The prompt check as an analyzer: the prompt the provenance analyzer found (or the
caller gave) against what the other analyzers saw. No model; describe/prompt_check.py
does the work. A model that can ground phrases (Florence-2) could register a better one
under another name and be chosen with `use.prompt_check`."""

from __future__ import annotations

from typing import Any

from describe.analyzers.base import BaseAnalyzer
from describe.facts import Facts, PromptCheck
from describe.intake import PreparedImage
from describe.prompt_check import check_prompt
from describe.registry import register


@register("prompt_check", "prompt-check")
class PromptCheckAnalyzer(BaseAnalyzer):
    name = "prompt_check"
    produces = "prompt_check"
    requires = ("provenance", "objects", "labels", "text", "colours", "caption")
    needs_model = False

    def _analyze(self, image: PreparedImage, facts: dict[str, Any]) -> PromptCheck | None:
        known = Facts(width=image.width, height=image.height, **facts)
        return check_prompt(known.provenance, known)
