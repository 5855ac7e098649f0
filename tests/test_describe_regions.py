"""Sky, grass and foliage shares from pixels (describe/regions.py), on drawn scenes."""

from __future__ import annotations

import numpy as np

from describe.regions import region_shares

RNG = np.random.default_rng(7)


def noisy_green(h: int, w: int) -> np.ndarray:
    """Blades and leaves: green with strong pixel-to-pixel variation."""
    base = np.zeros((h, w, 3), np.float32)
    base[..., 1] = 140
    base[..., 0] = 60
    base += RNG.normal(0, 45, (h, w, 1))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_clear_sky_over_a_meadow() -> None:
    image = np.zeros((300, 400, 3), np.uint8)
    image[:150] = (110, 160, 230)  # flat sky blue
    image[150:] = noisy_green(150, 400)
    shares = region_shares(image)
    assert shares.sky > 0.9
    assert shares.green_below > 0.8
    assert shares.green_above < 0.1


def test_a_flat_green_wall_is_not_grass_and_a_gray_sky_is_not_sky() -> None:
    image = np.zeros((300, 400, 3), np.uint8)
    image[:150] = (200, 200, 205)  # overcast: as often a wall or paper
    image[150:] = (60, 140, 60)  # painted, no texture
    shares = region_shares(image)
    assert shares.sky == 0.0
    assert shares.green_below < 0.1  # only the edge between the two is textured


def test_foliage_above_is_measured_apart_from_the_ground() -> None:
    image = np.full((300, 400, 3), 120, np.uint8)
    image[:150] = noisy_green(150, 400)
    shares = region_shares(image)
    assert shares.green_above > 0.8 and shares.green_below < 0.1


def test_a_pale_sky_counts_only_over_darker_textured_ground_in_a_colour_photo() -> None:
    image = np.zeros((300, 400, 3), np.uint8)
    image[:120] = (225, 228, 232)  # overcast
    ground = RNG.normal(0, 50, (180, 400, 1)) + np.array([110, 90, 60], np.float32)
    image[120:] = np.clip(ground, 0, 255).astype(np.uint8)
    assert region_shares(image).sky > 0.9
    studio = np.full((300, 400, 3), 235, np.uint8)  # a white sweep behind a product
    studio[150:250, 150:250] = (200, 40, 40)
    assert region_shares(studio).sky == 0.0
    gray = image.mean(axis=2, keepdims=True).repeat(3, axis=2).astype(np.uint8)
    assert region_shares(gray).sky == 0.0  # black and white: every top is pale
