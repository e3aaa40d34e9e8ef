"""The text search's relevance cut on score curves: what it keeps, where a cliff ends it, its floor."""

from __future__ import annotations

import numpy as np

from rap_desktop.core.album.search import GAP, RATIO, relevance_cut


def _curve(*parts: list[float]) -> np.ndarray:
    return np.sort(np.concatenate([np.asarray(p, np.float64) for p in parts]))[::-1]


def test_a_plateau_of_matches_above_many_unrelated_photos_is_what_is_found() -> None:
    rng = np.random.default_rng(0)
    unrelated = 0.20 + 0.01 * rng.standard_normal(190)
    matches = 0.29 + 0.004 * rng.standard_normal(5)
    cut = relevance_cut(_curve(unrelated, matches))
    assert cut.found == 5 and cut.rule in {"relative", "gap"}
    assert abs(cut.typical - np.median(unrelated)) < 0.01
    assert cut.line == _curve(matches)[-1]


def test_the_cut_is_scale_free() -> None:
    rng = np.random.default_rng(1)
    scores = _curve(0.2 + 0.01 * rng.standard_normal(100), [0.3, 0.29, 0.285])
    # another model: the same curve shifted and squeezed ten times -> the same photos are found
    assert relevance_cut(scores).found == relevance_cut(0.7 + scores / 10).found == 3


def test_a_cliff_after_the_second_photo_or_later_ends_the_results() -> None:
    lead = 1.0
    # four close matches, a drop bigger than GAP of the lead, then photos still above the relative line
    above = [1.0, 0.99, 0.98, 0.97, 0.97 - GAP * lead - 0.01, 0.96 - GAP * lead - 0.01]
    scores = _curve(above, np.zeros(20))
    assert np.all(np.asarray(above) >= RATIO * lead)  # all of them above the relative line
    cut = relevance_cut(scores)
    assert (cut.found, cut.rule) == (4, "gap")


def test_one_outstanding_photo_does_not_hide_the_good_ones_after_it() -> None:
    scores = _curve([1.0, 0.8, 0.79, 0.78], np.zeros(30))  # a drop of 0.2 after the first: not a cut
    assert relevance_cut(scores).found == 4


def test_the_floor_nothing_typical_is_found_and_the_best_always_is() -> None:
    flat = np.full(10, 0.3)
    assert relevance_cut(flat).found == 10 and relevance_cut(flat).rule == "all"  # nothing stands out
    two = np.array([0.31, 0.30])
    assert relevance_cut(two).found == 1
    assert relevance_cut(np.array([0.5])).found == 1
    assert relevance_cut(np.zeros(0)).found == 0
    rng = np.random.default_rng(2)
    noise = np.sort(rng.standard_normal(500))[::-1]
    cut = relevance_cut(noise)
    assert 1 <= cut.found < 250 and cut.line > np.median(noise)  # never half the album or more
