"""Tags from facts: normalised (lowercase, singular, synonyms merged), deduplicated,
each with the analyzer it came from."""

from __future__ import annotations

from describe.facts import Facts, Label, Tag
from describe.knowledge.text_cues import text_cues
from describe.knowledge.vocabulary import normalise_tag, object_category, setting_words
from describe.render import creative, scene
from describe.render.profiles import TagRules

# Coarse categories too vague to help a search: on the dev sets "household" (a clock, a
# bowl) and "structure" (a dam, a windmill) were never a word the references used.
_UNHELPFUL_CATEGORIES = frozenset({"other", "object", "household", "structure"})
MIN_COLOUR_COVERAGE = 0.1
# Objects a vision-language captioner named carry no score; this one keeps them above
# every profile's min_score but below a confident detection when both name a thing.
CAPTION_OBJECT_SCORE = 0.5
# The nearest ancestors are the words people search for (daisy → flower, plant);
# further up they get vague (animal, organism are dropped by the generator already).
MAX_HYPERNYMS = 2
# Backdrop colours people name in searches ("product on white background").
BACKDROPS = frozenset({"white", "black"})
# Several of one kind of thing is a group people search for ("herd of bison", "a group
# of friends"); three is where a pair stops and a group starts.
GROUP_SIZE = 3
GROUP_WORDS = {"bird": "flock", "animal": "herd", "person": "group"}
SETTING_MIN_SCORE = 0.15
# the keywords a person wrote into the file: sure by definition
FILE_SOURCE = "file"
FILE_SCORE = 1.0
AI_GENERATED = "ai-generated"
PROMPT_MISMATCH = "prompt-mismatch"


def _candidates(facts: Facts, rules: TagRules) -> list[Tag]:
    sources = set(rules.sources)
    # a creative's kind and format, and the product its copy names, are what it is
    out: list[Tag] = creative.tags(facts.creative) if "text" in sources else []
    # what the detector found confidently, then what a vision-language captioner named
    # (after the detector's, so a thing both name keeps the detector as its source)
    detected = (
        [(c.label, c.score) for c in facts.objects.counts if c.score >= rules.min_score]
        if facts.objects
        else []
    )
    caption_objects = facts.caption.objects if facts.caption and "caption" in sources else ()
    # the classic caption names labels (hedged ones too): they keep the label's score
    label_scores = {lb.name: lb.best for lb in facts.labels.labels} if facts.labels else {}
    captioned = [(name, label_scores.get(name, CAPTION_OBJECT_SCORE)) for name in caption_objects]
    if "objects" in sources:
        out += [Tag(label, "objects", score) for label, score in detected]
        out += _groups(facts, rules)
    out += [Tag(name, "caption", score) for name, score in captioned]
    # labels found in a crop count too: a small bird is still a bird (the paragraph only
    # asserts whole-image labels, but a tag is a filter, and a missed filter hides an image)
    tagged = [lb for lb in facts.labels.labels if lb.best >= rules.min_score] if facts.labels else []
    if "labels" in sources:
        out += [Tag(lb.name, "labels", lb.best) for lb in tagged]
    if facts.zero_shot and "zero_shot" in sources:
        # already cut by the vocabulary's calibrated threshold, not by min_score: SigLIP's
        # per-pair sigmoid puts true matches at 0.05-0.3, where a softmax label would be noise
        out += [Tag(t.name, facts.zero_shot.source or "zero_shot", t.score) for t in facts.zero_shot.tags]
    if "hypernyms" in sources:
        # WordNet ancestors of the tagged labels: a search for "flower" finds the daisy
        out += [Tag(word, "hypernyms", lb.best) for lb in tagged for word in lb.hypernyms[:MAX_HYPERNYMS]]
    if "category" in sources:
        for label, score in detected + captioned:
            category = object_category(label)
            if category and category not in _UNHELPFUL_CATEGORIES:
                out.append(Tag(category, "category", score))
        if facts.labels:
            out += [
                Tag(lb.category, "category", lb.score)
                for lb in facts.labels.labels
                if lb.score >= rules.min_score and lb.category not in _UNHELPFUL_CATEGORIES
            ]
    if "scene" in sources:
        # a scene label says where even when unsure which place it is ("pier" at 0.2 still
        # means water), so settings take labels below the tagging threshold
        settings = [lb for lb in facts.labels.labels if lb.best >= SETTING_MIN_SCORE] if facts.labels else []
        out += _scene(facts, settings, detected)
    # before colours and composition: on a sign, what it says is the point of it
    read = (facts.text and facts.text.text) or (facts.caption and facts.caption.ocr)
    if read and "text" in sources:
        out.append(Tag("text", "text"))
        out += [Tag(cue, "text", score) for cue, score in text_cues(_read_lines(facts))]
    if facts.colours and "colours" in sources:
        if facts.colours.grayscale:
            out.append(Tag("black and white", "colours"))
        else:
            out += [
                Tag(c.family, "colours", c.coverage)
                for c in facts.colours.palette
                if c.coverage >= MIN_COLOUR_COVERAGE
            ]
    if facts.composition and "composition" in sources:
        comp = facts.composition
        flags = {
            "close-up": comp.shot == "close-up",
            # a plain backdrop behind a detected object; a plain banner is not a product shot
            "product shot": comp.plain_background
            and not comp.text_heavy
            and bool(facts.objects and facts.objects.counts),
            "blurry": comp.blurry,
            "dark": comp.lighting == "dark",
        }
        out += [Tag(name, "composition") for name, on in flags.items() if on]
    return out


def _read_lines(facts: Facts) -> list[tuple[str, float]]:
    """The visible text as (line, confidence): the OCR analyzer's lines, else the lines a
    vision-language captioner read (no confidence: CAPTION_OBJECT_SCORE)."""
    if facts.text and facts.text.lines:
        return [(line.text, line.score) for line in facts.text.lines]
    ocr = facts.caption.ocr if facts.caption else ""
    return [(line, CAPTION_OBJECT_SCORE) for line in ocr.splitlines() if line.strip()]


def _groups(facts: Facts, rules: TagRules) -> list[Tag]:
    """'herd', 'flock', 'group' for three or more confident detections of one thing."""
    out = []
    for count in facts.objects.counts if facts.objects else ():
        if count.count >= GROUP_SIZE and count.score >= rules.min_score:
            word = GROUP_WORDS.get(count.label) or GROUP_WORDS.get(object_category(count.label) or "")
            if word:
                out.append(Tag(word, "objects", count.score))
    return out


def _scene(facts: Facts, labels: list[Label], detected: list[tuple[str, float]]) -> list[Tag]:
    """Where the picture was taken and how, from scene labels and telling things
    (describe/data/settings.toml: a lakeside, a shark, an oven) and what the pixels say
    (sky above, lights in the dark, a white backdrop)."""
    named = [(lb.name, lb.best) for lb in labels] + detected
    out = [Tag(word, "scene", score) for name, score in named for word in setting_words(name)]
    cues = scene.cues(facts.colours, facts.composition)
    if cues.sky:
        out.append(Tag("sky", "scene"))
    if cues.grass:
        out.append(Tag("grass", "scene"))
    if cues.foliage:
        out.append(Tag("trees", "scene"))
    if cues.bright_points:
        out.append(Tag("night", "scene"))
    comp, colours = facts.composition, facts.colours
    # a black-and-white texture (brick, gravel, the moon) reads as "plain" too: only
    # colour photos on a white or black backdrop are product-style shots
    if comp and comp.plain_background and not comp.text_heavy and colours and colours.palette:
        backdrop = colours.palette[0].family
        if backdrop in BACKDROPS and not colours.grayscale:
            out.append(Tag(f"{backdrop} background", "scene"))
    return out


def provenance_tags(facts: Facts) -> list[Tag]:
    """`ai-generated` (the file says a generator made it) and `prompt-mismatch` (the prompt
    asks for something the image does not show): filters, so never cut by max_tags."""
    out = []
    if facts.provenance and facts.provenance.ai_generated:
        out.append(Tag(AI_GENERATED, "provenance"))
    if facts.prompt_check and facts.prompt_check.mismatch:
        out.append(Tag(PROMPT_MISMATCH, "provenance"))
    return out


def file_tags(facts: Facts) -> list[Tag]:
    """The keywords the file carries (describe/provenance/keywords.py), normalised as every
    tag and every tag filter is, with source "file": a person chose them, so they are never
    cut by max_tags and win over a model's tag of the same name."""
    keywords = facts.provenance.keywords if facts.provenance else ()
    names = dict.fromkeys(n for n in map(normalise_tag, keywords) if n)
    return [Tag(name, FILE_SOURCE, FILE_SCORE) for name in names]


def build_tags(facts: Facts, rules: TagRules) -> list[Tag]:
    best: dict[str, Tag] = {}
    for tag in _candidates(facts, rules):
        name = normalise_tag(tag.name)
        if not name:
            continue
        kept = best.get(name)
        if kept is None:
            best[name] = Tag(name, tag.source, round(tag.score, 3))
        elif tag.score > kept.score:
            # keep the first source (objects before labels) but the best score
            best[name] = Tag(name, kept.source, round(tag.score, 3))
    kept_tags = list(best.values())[: rules.max_tags]
    if "provenance" in rules.sources:
        kept_tags += [t for t in provenance_tags(facts) if t.name not in best]
        # the file's keywords are provenance too: what the file says about itself
        from_file = {t.name: t for t in file_tags(facts)}
        kept_tags = [from_file.pop(t.name, t) for t in kept_tags] + list(from_file.values())
    return kept_tags
