"""Sky, grass and foliage from colour and texture: the 'stuff' neither offline model names.

ImageNet and COCO name things, not surfaces, so a bison on a meadow came out as "a bison"
and a castle under a clear sky as "a castle"; people search for "bison on grass" and
"castle against a blue sky". This reads a 96 px copy pixel by pixel: blue and smooth
(clear sky), green and finely textured (grass, leaves), and where in the frame each
lies. Thresholds were set on the two dev sets (114 images): blue-and-smooth over 45 % of
the top third was sky in 7 of 9 photos (the others a dusk sky and a rendered sign);
green-and-textured over half the bottom was grass in 2 of 4 (a reef anemone and a
forest below a castle the others); over a third of the top half, trees or bushes in 4
of 5. A white or gray top is sky only over a darker, textured ground (0.2 darker
below, mean |Laplacian| ≥ 0.09): alone it is as often a wall, paper or a studio sweep
(every product shot on white had it); with that ground, 6 of 7 dev photos (a rhino
against a bright haze the other).
"""

from __future__ import annotations

import cv2
import numpy as np

from describe.facts import RegionShares

SIDE = 96
# OpenCV's 8-bit hue is degrees / 2: blue 180-260°, green 56-180°
BLUE_HUE = (90, 130)
GREEN_HUE = (28, 90)
MIN_SKY_SATURATION = 0.15
MIN_SKY_VALUE = 0.4
MIN_GREEN_SATURATION = 0.2
MIN_GREEN_VALUE = 0.12
MAX_GRAY_SATURATION = 0.12
MIN_GRAY_SKY_VALUE = 0.65
SKY_OVER_GROUND = 0.2  # how much brighter the top third is than the bottom half
GROUND_TEXTURE = 0.09
COLOURFUL = 0.1  # share of saturated pixels below which a photo is black and white
# mean |Laplacian| (0..1) in a 5 px window of the 96 px gray copy
SMOOTH = 0.06
TEXTURED = 0.08


def region_shares(rgb: np.ndarray) -> RegionShares:
    small = cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).astype(np.float32)
    hue, sat, val = hsv[..., 0], hsv[..., 1] / 255, hsv[..., 2] / 255
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    local = cv2.blur(np.abs(cv2.Laplacian(gray, cv2.CV_32F)), (5, 5))
    blue_smooth = (
        (hue >= BLUE_HUE[0])
        & (hue <= BLUE_HUE[1])
        & (sat >= MIN_SKY_SATURATION)
        & (val >= MIN_SKY_VALUE)
        & (local < SMOOTH)
    )
    green_textured = (
        (hue >= GREEN_HUE[0])
        & (hue <= GREEN_HUE[1])
        & (sat >= MIN_GREEN_SATURATION)
        & (val >= MIN_GREEN_VALUE)
        & (local >= TEXTURED)
    )
    pale_smooth = (sat < MAX_GRAY_SATURATION) & (val >= MIN_GRAY_SKY_VALUE) & (local < SMOOTH)
    top, upper, lower = slice(0, SIDE // 3), slice(0, SIDE // 2), slice(SIDE // 2, SIDE)
    # in a black-and-white photo everything is pale and unsaturated: no cue there
    colourful = float((sat >= MAX_GRAY_SATURATION).mean()) >= COLOURFUL
    over_ground = (
        colourful
        and float(val[top].mean() - val[lower].mean()) >= SKY_OVER_GROUND
        and float(local[lower].mean()) >= GROUND_TEXTURE
    )
    overcast = float(pale_smooth[top].mean()) if over_ground else 0.0
    return RegionShares(
        sky=round(max(float(blue_smooth[top].mean()), overcast), 3),
        green_below=round(float(green_textured[lower].mean()), 3),
        green_above=round(float(green_textured[upper].mean()), 3),
    )
