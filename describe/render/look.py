"""How the frame looks, as structure for the templates: framing and light, the background,
the colour layout from top to bottom, texture and colour tone.

Everything here is read from the composition and colour facts alone, so every image gets
it, detections or not. Keys only ("close-up", "sky", "muted"); the words are in the
profiles (data/profiles.toml).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from describe.facts import ColourFacts, CompositionFacts
from describe.render.scene import FINE_TEXTURE, SKY_FAMILY, SMOOTH_TEXTURE, ObjectEntry

# Mean HSV saturation over 87 photos: gray days, stone and steel 0.07–0.2; meadows,
# fur and skin 0.3–0.5; poppies, bee on orange flowers, coffee in terracotta 0.6–0.7.
# Below DIM_FOR_TONE the hue of near-black pixels is noise (a dark stage reads 0.56).
VIVID = 0.55
MUTED = 0.2
DIM_FOR_TONE = 0.25
# Luminance std (0..1): product shots with dark things on white and the black-and-white
# camera man 0.58–0.74; fog, a teacup on gray, a turbine against haze 0.11–0.21.
HIGH_CONTRAST = 0.6
LOW_CONTRAST = 0.22
# A plain border in these families is a studio backdrop; green or blue is a lawn or a wall
# ("" when the bands disagree on its colour: still plain, and most often white or gray).
STUDIO_FAMILIES = frozenset({"white", "gray", "black", ""})
DARK_FAMILY = "black"


class Framing(msgspec.Struct, frozen=True):
    """Orientation, shot, light, focus and background of the whole frame."""

    orientation: str  # landscape, portrait, square
    shot: str = ""  # close-up, medium, wide; "" without detections (then it is only a guess)
    lighting: str = ""  # dark, dim, balanced, bright
    blurry: bool = False
    contrast: str = ""  # high, low; "" in between
    background: str = ""  # plain (one colour round the border), dark (black above and below), ""
    background_colour: str = ""  # the plain background's colour family, when the bands agree
    product: bool = False  # a plain studio backdrop and no page of text: reads as a product shot


class Layout(msgspec.Struct, frozen=True):
    """What the colour bands say about the layout, top to bottom."""

    kind: str = ""  # sky, whole, split, ends, top, bottom; "" when the bands say nothing
    top: str = ""  # colour family of the top third ("" when mixed)
    bottom: str = ""  # … of the bottom third
    texture: str = ""  # fine, smooth; "" in between or on a plain backdrop


def _contrast(composition: CompositionFacts) -> str:
    if composition.contrast >= HIGH_CONTRAST:
        return "high"
    return "low" if composition.contrast <= LOW_CONTRAST else ""


def _bands(colours: ColourFacts | None) -> tuple[str, str, str]:
    top, middle, bottom = (*(colours.bands if colours else ()), "", "", "")[:3]
    return top, middle, bottom


def framing(
    composition: CompositionFacts | None, colours: ColourFacts | None, entries: Sequence[ObjectEntry]
) -> Framing | None:
    """None without composition facts. The shot is said only when something was detected:
    without a box 'wide' means no more than a landscape frame; and a thing that fills the
    frame already says how near it is (close-up or medium: the shot would repeat it)."""
    if composition is None:
        return None
    shot = (composition.shot or "") if entries else ""
    if shot in ("close-up", "medium") and any(e.size == "fills" for e in entries):
        shot = ""
    top, _, bottom = _bands(colours)
    if composition.plain_background:
        background = "plain"
        shade = top if top == bottom else ""
    elif top == bottom == DARK_FAMILY:
        background, shade = "dark", DARK_FAMILY
    else:
        background, shade = "", ""
    return Framing(
        orientation=composition.orientation,
        shot=shot,
        lighting=composition.lighting,
        blurry=composition.blurry,
        contrast=_contrast(composition),
        background=background,
        background_colour=shade,
        # a very dark frame on black is as often a night or a stage as a studio
        product=(
            background == "plain"
            and shade in STUDIO_FAMILIES
            and composition.lighting != "dark"
            and not composition.text_heavy
        ),
    )


def layout(colours: ColourFacts | None, composition: CompositionFacts | None) -> Layout:
    """Sky over something, one colour top to bottom, or different tops and bottoms. Nothing
    on a plain backdrop (the framing names it) or a dark one, nor for black-and-white."""
    if colours is None or colours.grayscale:
        return Layout()
    plain = bool(composition and composition.plain_background)
    texture = ""
    if colours.texture >= FINE_TEXTURE:
        texture = "fine"
    elif 0 < colours.texture <= SMOOTH_TEXTURE and not plain:
        texture = "smooth"  # a studio backdrop is smooth whatever stands on it
    top, middle, bottom = _bands(colours)
    if plain or top == bottom == DARK_FAMILY:
        return Layout(texture=texture)
    if top == SKY_FAMILY and bottom != top:
        kind = "sky"
    elif top and top == middle == bottom:
        kind = "whole"
    elif top and bottom:
        kind = "ends" if top == bottom else "split"
    else:
        kind = "top" if top else "bottom" if bottom else ""
    return Layout(kind=kind, top=top, bottom=bottom, texture=texture)


def tone(colours: ColourFacts | None, composition: CompositionFacts | None) -> str:
    """vivid or muted from the mean saturation; "" in between, in the dark, in black and
    white and on a plain backdrop, whose white or gray would make any product 'muted'."""
    if not colours or not composition or colours.grayscale or composition.plain_background:
        return ""
    if composition.brightness < DIM_FOR_TONE:
        return ""
    if composition.saturation >= VIVID:
        return "vivid"
    main = colours.palette[0].family if colours.palette else ""
    return "muted" if composition.saturation < MUTED and main not in ("white", "black") else ""
