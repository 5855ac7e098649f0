"""Weighted score fusion: pure functions over (id, score) lists."""

from __future__ import annotations

import pytest

from search.fusion import fuse, likely_cut, saturate


def test_weighted_sum_over_views() -> None:
    views = {"a": [("x", 0.9), ("y", 0.5)], "b": [("y", 1.0), ("x", 0.0)]}
    ranked = fuse(views, {"a": 1.0, "b": 0.5}, complete={"a": True, "b": True})
    assert dict(ranked) == pytest.approx({"x": 0.9, "y": 1.0})
    assert [pid for pid, _ in ranked] == ["y", "x"]


def test_a_view_that_knows_little_weighs_little() -> None:
    # a lexical side matching a stray word must not outrank a strong dense match
    views = {"dense": [("cat", 0.6), ("wood", 0.2)], "sparse": [("wood", 0.3)]}
    ranked = fuse(views, {"dense": 1.0, "sparse": 0.2}, complete={"dense": True, "sparse": True})
    assert [pid for pid, _ in ranked] == ["cat", "wood"]


def test_missing_from_a_cut_view_scores_its_floor_and_from_a_complete_view_zero() -> None:
    views = {"cut": [("x", 0.8), ("y", 0.4)], "complete": [("x", 0.5)], "other": [("z", 1.0)]}
    ranked = dict(
        fuse(
            views,
            {"cut": 1.0, "complete": 1.0, "other": 1.0},
            {"cut": False, "complete": True, "other": True},
        )
    )
    assert ranked["x"] == pytest.approx(0.8 + 0.5)
    assert ranked["y"] == pytest.approx(0.4 + 0.0)
    # z is missing from the cut view: it ranked below everything there, so at most its floor
    assert ranked["z"] == pytest.approx(0.4 + 0.0 + 1.0)


def test_ties_are_ordered_by_id_so_both_stores_agree() -> None:
    ranked = fuse({"a": [("b", 0.5), ("a", 0.5)]}, {"a": 1.0}, {"a": True})
    assert [pid for pid, _ in ranked] == ["a", "b"]


def test_saturate_is_bounded_and_monotonic() -> None:
    values = [saturate(s, 5.0) for s in (0.0, 1.0, 5.0, 50.0, 5000.0)]
    assert values[0] == 0.0 and values[2] == pytest.approx(0.5)
    assert values == sorted(values) and values[-1] < 1.0
    assert saturate(-1.0, 5.0) == 0.0


def test_likely_cut_is_relative_to_the_best_hit() -> None:
    ranked = [("a", 1.0), ("b", 0.8), ("c", 0.7), ("d", 0.2)]
    assert likely_cut(ranked, 0.75) == 2
    assert likely_cut(ranked, 0.0) == 4
    assert likely_cut([], 0.75) == 0
    assert likely_cut([("a", 0.0)], 0.75) == 0
