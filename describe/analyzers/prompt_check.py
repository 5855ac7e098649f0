"""The prompt check as an analyzer: the prompt the provenance analyzer found (or the
caller gave) against what the other analyzers saw. No model of its own;
describe/provenance/prompt_check.py does the work.

When the captioner that wrote the image's caption can ground phrases (Florence-2), the
check asks it to place the prompt's phrases: one more pass of that model per image with
a prompt, none without. Options: `ground` (default true) turns that off. The Describer
gives `captioners`, its lookup of resident captioners by name, because this analyzer
declares `uses_captioners`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from describe.analyzers.base import AnalyzerOptions, BaseAnalyzer
from describe.facts import Box, Caption, Facts, PromptCheck
from describe.intake import PreparedImage
from describe.provenance.prompt_check import Grounder, PhraseGrounder, check_prompt
from describe.registry import register


class PromptCheckOptions(AnalyzerOptions):
    ground: bool = True  # ground the prompt's phrases with the captioner, when it can
    captioners: Any = None  # the Describer's lookup of resident captioners (uses_captioners)


@register("prompt_check", "prompt-check")
class PromptCheckAnalyzer(BaseAnalyzer):
    name = "prompt_check"
    Options = PromptCheckOptions
    opts: PromptCheckOptions
    produces = "prompt_check"
    requires = ("provenance", "objects", "labels", "text", "colours", "caption")
    needs_model = False
    uses_captioners: ClassVar[bool] = True

    def _analyze(self, image: PreparedImage, facts: Facts) -> PromptCheck | None:
        return check_prompt(facts.provenance, facts, self._grounder(image, facts.caption))

    def _grounder(self, image: PreparedImage, caption: Caption | None) -> Grounder | None:
        """The grounding of the captioner that wrote this caption, if it grounds (a caption
        that fell back to the classic sentence names classic, which does not)."""
        lookup: Callable[[str], object] | None = self.opts.captioners
        if caption is None or lookup is None or not self.opts.ground:
            return None
        captioner = lookup(caption.source)
        if not isinstance(captioner, PhraseGrounder):
            return None

        def ground(phrases: Sequence[str]) -> Sequence[Sequence[Box]]:
            return captioner.ground(image, phrases)

        return ground
