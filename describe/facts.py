"""Typed, frozen facts that analyzers produce and profiles render.

Nothing framework-specific (tensors, PIL images, numpy arrays) is stored here:
facts are plain data, serialisable to JSON as they are.
Boxes are normalised to [0, 1] as (x0, y0, x1, y1) so they survive resizing.
"""

from __future__ import annotations

import msgspec

Box = tuple[float, float, float, float]


class DetectedObject(msgspec.Struct, frozen=True):
    label: str
    score: float
    box: Box


class ObjectCount(msgspec.Struct, frozen=True):
    label: str
    count: int
    score: float  # the best score among the instances


class ObjectFacts(msgspec.Struct, frozen=True):
    objects: tuple[DetectedObject, ...] = ()
    # one entry per label, most prominent first (by total box area)
    counts: tuple[ObjectCount, ...] = ()
    # detections the classifier contradicts (describe/knowledge/crosscheck.py): not named, tagged
    # or indexed, kept so that nothing the detector said is lost
    doubted: tuple[DetectedObject, ...] = ()


class Label(msgspec.Struct, frozen=True):
    name: str  # readable, e.g. "espresso"
    score: float  # the classifier's probability on the whole image: what the paragraph asserts
    category: str  # coarse: animal, food, vehicle, …; "object" when unknown
    synonyms: tuple[str, ...] = ()
    # the best probability in a crop (centre, quadrants): finds small or off-centre
    # things for the index; never asserted on its own
    region_score: float = 0.0
    # WordNet ancestors worth searching for, nearest first: daisy → flower, plant
    hypernyms: tuple[str, ...] = ()

    @property
    def best(self) -> float:
        return max(self.score, self.region_score)


class LabelFacts(msgspec.Struct, frozen=True):
    labels: tuple[Label, ...] = ()


class TextLine(msgspec.Struct, frozen=True):
    text: str
    score: float
    box: Box


class TextFacts(msgspec.Struct, frozen=True):
    lines: tuple[TextLine, ...] = ()
    text: str = ""  # all lines, reading order, joined with newlines
    # fraction of the image area covered by text boxes
    coverage: float = 0.0


class Colour(msgspec.Struct, frozen=True):
    name: str  # human colour name, e.g. "navy blue"
    # basic colour: red, orange, yellow, green, blue, purple, pink, brown, black, white, gray, beige
    family: str
    hex: str
    coverage: float  # fraction of pixels


class RegionShares(msgspec.Struct, frozen=True):
    """Shares (0..1) of parts of the frame that look like one kind of surface
    (describe/regions.py)."""

    sky: float = 0.0  # clear blue, or white over darker ground: of the top third
    green_below: float = 0.0  # green and textured, of the bottom half
    green_above: float = 0.0  # green and textured, of the top half


class ColourFacts(msgspec.Struct, frozen=True):
    palette: tuple[Colour, ...] = ()
    grayscale: bool = False
    # colour family of each detection's central part, aligned with ObjectFacts.objects;
    # "" where the box is too small or its pixels are mixed
    object_colours: tuple[str, ...] = ()
    # dominant colour family of the top, middle and bottom thirds; "" where mixed
    bands: tuple[str, ...] = ()
    # mean local contrast (0..1, Laplacian magnitude of the small gray copy): foliage
    # and gravel score high, sky and studio backdrops low
    texture: float = 0.0
    # a dark frame with a few small bright spots: stars, city lights at night
    bright_points: bool = False
    # clear sky, grass, foliage: where colour and texture suggest them
    regions: RegionShares = RegionShares()


class CompositionFacts(msgspec.Struct, frozen=True):
    orientation: str  # landscape, portrait, square
    aspect_ratio: float
    brightness: float  # 0..1 mean luminance
    contrast: float  # 0..1 (std of luminance, scaled)
    saturation: float  # 0..1 mean
    sharpness: float  # variance of the Laplacian (higher is sharper)
    blurry: bool
    lighting: str  # dark, dim, balanced, bright
    subject_position: str | None = None  # e.g. "centre", "left third", from the main object
    shot: str | None = None  # close-up, medium, wide
    plain_background: bool = False
    text_heavy: bool = False


class CreativePart(msgspec.Struct, frozen=True):
    role: str  # headline, subheadline, body, cta, price, discount, coupon, event, brand, phone
    text: str  # as read; for a coupon, the code alone
    box: Box | None = None


class CreativeFacts(msgspec.Struct, frozen=True):
    """A marketing image (an ad, a post, a story, a banner, a poster, a flyer, a menu, a
    coupon, a job ad, an infographic) read as one (describe/analyzers/creative.py, the
    rules in describe/data/creative.toml). `kind` is "" for anything else."""

    kind: str = ""  # ad, social post, story, web banner, email header, poster, …
    format: str = ""  # square, portrait, story, landscape, banner, leaderboard, a-portrait, …
    format_name: str = ""  # as people say it: "square", "9:16 story", "leaderboard banner"
    layout: str = ""  # text left / right / top / bottom / over photo / centred
    score: float = 0.0  # the recognition cues' sum (describe/data/creative.toml)
    cues: tuple[str, ...] = ()  # which cues counted
    parts: tuple[CreativePart, ...] = ()  # the text's parts, reading order
    subject: str = ""  # the product the copy names, as written ("sneakers")
    products: tuple[str, ...] = ()  # the products the copy names, canonical ("shoe")
    tags: tuple[str, ...] = ()  # the kind's and format's search words
    # the classifier's guesses and the detector's finds the copy contradicts (a "guitar
    # pick" on a sneaker ad, a "stop sign" on a price badge): not named, tagged or indexed
    doubted_labels: tuple[str, ...] = ()
    doubted_objects: tuple[str, ...] = ()
    # the languages its text is written in (ISO 639-1, the main one first); () when the
    # text is too short to tell (describe/knowledge/language_id.py)
    languages: tuple[str, ...] = ()
    # what its flat illustration shows, from shapes ("balloons"; describe/analyzers/creative_drawn.py)
    drawn: tuple[str, ...] = ()
    # where the picture (the product) sits: left, right, top, bottom, centre; "" without
    # one, or for text over a photo (describe/analyzers/creative_position.py)
    product_position: str = ""

    def texts(self, role: str) -> list[str]:
        return [p.text for p in self.parts if p.role == role]


class Caption(msgspec.Struct, frozen=True):
    text: str
    source: str  # the captioner that wrote it
    # Objects a vision-language captioner named (Florence-2's <OD>), merged into the tags.
    objects: tuple[str, ...] = ()
    # Text a vision-language captioner read (Florence-2's <OCR>), used when OCR found none.
    ocr: str = ""
    # Written by a model that saw the whole image: the paragraph already says where it is,
    # so the renderer leaves out the classifier's setting guess.
    vlm: bool = False


class Provenance(msgspec.Struct, frozen=True):
    """What the file (or the caller) says about how the image was made: the generation
    prompt and settings a tool wrote into it, and whether it is marked AI-generated."""

    prompt: str = ""  # the positive prompt (or a description travelling with the file)
    # where the prompt came from: "caller", "file:a1111", "file:comfyui", "file:invokeai",
    # "file:fooocus", "file:novelai", "file:xmp", "file:exif"; "" without a prompt
    source: str = ""
    negative_prompt: str = ""
    generator: str = ""  # the tool that wrote the metadata, e.g. "ComfyUI", "Adobe Firefly"
    model: str = ""
    seed: str = ""  # as written: seeds overflow 64 bits in some tools
    settings: dict[str, str] = {}  # steps, sampler, CFG scale, size …
    ai_generated: bool = False
    # why ai_generated is set: "iptc:trainedAlgorithmicMedia", "file:a1111", …
    ai_marker: str = ""
    # metadata that was there but could not be used (too big, bad JSON, bad encoding)
    notes: tuple[str, ...] = ()
    # the words a person (or their photo manager) wrote into the file, as written: XMP
    # dc:subject and lr:hierarchicalSubject, IPTC Keywords, EXIF XPKeywords
    # (describe/provenance/keywords.py); they become tags with source "file"
    keywords: tuple[str, ...] = ()
    title: str = ""  # XMP dc:title, IPTC Object Name, EXIF XPTitle
    # XMP dc:description, else IPTC Caption-Abstract: what the file says the picture is
    file_description: str = ""


class Evidence(msgspec.Struct, frozen=True):
    kind: str  # object, label, caption, colour, text, grounding
    name: str  # what the model said: "cat", "tabby", "red", "SALE"
    score: float = 1.0


# PromptItem.status
SEEN, NOT_SEEN, CANT_TELL = "seen", "not_seen", "cant_tell"


class PromptItem(msgspec.Struct, frozen=True):
    phrase: str  # as the prompt says it, cleaned: "a red sofa"
    thing: str  # what is looked for, normalised: "sofa"
    status: str  # seen, not_seen, cant_tell
    evidence: tuple[Evidence, ...] = ()
    count: int | None = None  # "two people" → 2
    attributes: tuple[str, ...] = ()  # "red"
    # attributes or the count that the image contradicts: ("red",), ("count",)
    differs: tuple[str, ...] = ()


class PromptCheck(msgspec.Struct, frozen=True):
    prompt: str
    source: str
    items: tuple[PromptItem, ...] = ()
    # seen / (seen + not_seen); None when nothing in the prompt could be checked
    score: float | None = None
    mismatch: bool = False  # something the models could have seen is not there, or differs


class ZeroShotTag(msgspec.Struct, frozen=True):
    name: str  # the vocabulary's tag, e.g. "flat lay"
    score: float  # the model's sigmoid probability that the prompt matches the image
    category: str  # the vocabulary's category: food, style, season, …


class ZeroShotFacts(msgspec.Struct, frozen=True):
    """Tags an image-text model scored against a tag vocabulary (describe/data/tag_vocabulary.toml)."""

    tags: tuple[ZeroShotTag, ...] = ()
    source: str = ""  # the analyzer, e.g. "siglip2": the tags' source
    model: str = ""  # the checkpoint (repo id or folder) the scores and the embedding come from
    # the image embedding (unit length) the store keeps as its image vector; () when none
    embedding: tuple[float, ...] = ()


class Facts(msgspec.Struct, frozen=True):
    """Everything the analyzers found about one image. A missing analyzer leaves None."""

    width: int
    height: int
    objects: ObjectFacts | None = None
    labels: LabelFacts | None = None
    text: TextFacts | None = None
    colours: ColourFacts | None = None
    composition: CompositionFacts | None = None
    creative: CreativeFacts | None = None
    caption: Caption | None = None
    provenance: Provenance | None = None
    prompt_check: PromptCheck | None = None
    zero_shot: ZeroShotFacts | None = None


# The facts analyzers fill (everything but the image size), in the Facts struct's order:
# profiles name them, the describer plans analyzers by them.
FACT_FIELDS = tuple(f for f in Facts.__struct_fields__ if f not in ("width", "height"))


class Tag(msgspec.Struct, frozen=True):
    name: str
    source: str  # objects, labels, category, colours, composition, text, caption, siglip2 (zero_shot)
    score: float = 1.0


class Description(msgspec.Struct, frozen=True):
    """What a user gets back: the rendered paragraph, tags and the facts behind them."""

    description: str
    tags: list[str]
    tag_details: list[Tag]
    colors: list[Colour]
    composition: CompositionFacts | None
    objects: list[ObjectCount]
    labels: list[Label]
    text: str
    caption: str | None
    captioner: str
    profile: str
    width: int
    height: int
    timings_ms: dict[str, float]
    # the generation prompt checked against what the image shows; None without a prompt
    prompt_check: PromptCheck | None = None
    provenance: Provenance | None = None
    # a marketing image read as one: kind, format, layout and the text's parts; None for a photo
    creative: CreativeFacts | None = None
