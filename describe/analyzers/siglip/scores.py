"""SigLIP's one sigmoid: σ(scale · cosine + bias), the model's probability that a text and
an image match. The tagger scores tags with it and search puts the image view on the
other views' scale with it (search/fusion.py), so both read a cosine the same way. No
torch here: search imports it."""

from __future__ import annotations

import numpy as np


def match_probability(cosine: np.ndarray | float, scale: float, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(scale * np.asarray(cosine, dtype=np.float64) + bias)))
