"""Display type (issue 27, part 4; describe/analyzers/text_reread.py): a letter-spaced
headline's spaces from the gaps between its characters, and the detector's boxes of one
tracked line merged. The frame gaps and space probabilities are the recogniser's, measured
on the rendered display-type set (eval/creatives/display_type.py)."""

from __future__ import annotations

import numpy as np
import pytest

from describe.analyzers.text_reread import merge_rows, spaces

SPACE_PROB = 0.01  # the reader's own threshold (describe/analyzers/text.py)


def _frames(gaps: list[int]) -> np.ndarray:
    return np.concatenate([[3], 3 + np.cumsum(gaps)])


@pytest.mark.parametrize(
    ("gaps", "probs", "expected"),
    [
        # BLACK FRIDAY at 0.45 em tracking: the space's probability is over 0.01 almost
        # everywhere ("B L AC K F R I D A Y"); the gap and the highest probability agree
        ([7, 8, 8, 8, 13, 8, 7, 6, 9, 8], [0.03, 0.02, 0.01, 0.02, 0.08, 0.04, 0.01, 0.01, 0.02, 0.01], [4]),
        ([7, 8, 8], [0.52, 0.47, 0.68], []),  # "F R E E": one word, evenly spaced
        # a gap this wide in tracked type is a space, however unlikely the recogniser finds it
        ([7, 8, 8, 8, 13, 8], [0.05, 0.04, 0.05, 0.04, 0.02, 0.05], [4]),
        # untracked display type keeps the reader's spaces: "9 AM - 5 PM" (a narrow digit
        # and dash), "HIRING" (a wide G), and "FLASHDEAL", whose gap says more, is left so
        ([7, 5, 8, 5, 7, 5], [0.87, 0, 0.58, 0.74, 0.95, 0], [0, 2, 3, 4]),
        ([6, 4, 5, 4, 8], [0.0] * 5, []),
        ([7, 7, 8, 8, 13, 8, 7, 7], [0.0] * 8, []),
        # CYBER MONDAY: the M widens the next gap to 9 as much as the space does
        ([6, 6, 6, 6, 9, 9, 6, 7, 6, 6], [0, 0, 0, 0, 0.84, 0, 0, 0, 0, 0], [4]),
        ([6, 6, 7, 5, 6, 6, 6, 5], [0, 0, 0, 1.0, 0, 0, 0, 0], [3]),  # a sure space in a narrow gap
        # ordinary text (2-4 frames a character): the reader's threshold alone
        ([2, 2, 2, 4, 2, 2, 3], [0, 0, 0.02, 1.0, 0, 0, 0.5], [2, 3, 6]),
        ([9, 9], [0.3, 0.0], [0]),  # too few characters to judge the pitch
    ],
)  # fmt: skip
def test_spaces_of_display_type(gaps: list[int], probs: list[float], expected: list[int]) -> None:
    got = spaces(_frames(gaps), np.array(probs, float), SPACE_PROB)
    assert np.flatnonzero(got).tolist() == expected


def _quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_boxes_of_one_tracked_headline_are_merged() -> None:
    # "CL" "EARANCE" cut apart by the detector, a price below, fine print under it
    quads = [
        _quad(400, 100, 900, 160),
        _quad(300, 102, 380, 158),
        _quad(350, 250, 600, 330),
        _quad(300, 400, 500, 420),
    ]
    merged = merge_rows(quads)
    assert len(merged) == 3
    assert np.allclose(merged[0], _quad(300, 100, 900, 160))
    assert any(np.allclose(q, quads[2]) for q in merged) and any(np.allclose(q, quads[3]) for q in merged)


@pytest.mark.parametrize(
    "second",
    [
        _quad(500, 100, 700, 160),  # a column further than a line height away
        _quad(390, 100, 600, 200),  # type of another size
        _quad(390, 150, 600, 210),  # the next row down
    ],
)
def test_boxes_that_are_not_one_line_stay_apart(second: np.ndarray) -> None:
    assert len(merge_rows([_quad(300, 100, 380, 160), second])) == 2


def test_fine_print_is_never_merged() -> None:
    assert len(merge_rows([_quad(100, 100, 200, 116), _quad(205, 100, 300, 116)])) == 2
    assert merge_rows([]) == []
