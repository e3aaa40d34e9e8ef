"""Which new region takes on an old region's user decisions when a photo is detected again."""

from __future__ import annotations

import numpy as np

from rap_desktop.core.regions import Proposal
from rap_desktop.core.store.photos import StoredRegion, carry_plan


def _old(rid: int, box, source: str = "detector") -> StoredRegion:
    return StoredRegion(rid, 1, rid, box, "person", 0.5, source, np.zeros(4, np.float32))


def _new(box, source: str = "detector") -> Proposal:
    return Proposal(box, "person", 0.6, source)


def test_decisions_go_to_the_best_overlap_one_to_one() -> None:
    old = [_old(10, (0, 0, 100, 100)), _old(11, (10, 0, 110, 100)), _old(12, (300, 300, 400, 400))]
    new = [_new((5, 0, 105, 100)), _new((12, 0, 112, 100)), _new((0, 0, 500, 500), "whole")]
    proposals, origins = carry_plan(old, {10, 11}, new)
    # 11 overlaps new[1] best (IoU 0.96), so 10 gets new[0] (0.90), not the one 11 took; 12 holds nothing
    assert proposals == new and origins == [10, 11, None]


def test_a_decided_region_no_detection_overlaps_enough_stays_at_its_box() -> None:
    old = [_old(10, (0, 0, 100, 100)), _old(11, (200, 200, 300, 300))]
    new = [_new((40, 0, 140, 100))]  # IoU with region 10: 60 / 140 = 0.43 < 0.5
    proposals, origins = carry_plan(old, {10}, new)
    assert proposals == [*new, Proposal((0, 0, 100, 100), "person", 0.5, "detector")]
    assert origins == [None, 10]


def test_user_boxes_stay_as_drawn_and_never_take_or_give_a_detection() -> None:
    drawn = _old(20, (0, 0, 100, 100), "user")
    decided = _old(21, (0, 0, 98, 100))
    new = [_new((0, 0, 100, 100))]
    proposals, origins = carry_plan([drawn, decided], {21}, new)
    # the detection identical to the drawn box goes to the decided detector region, the drawn box stays
    assert origins == [21, 20]
    assert proposals[1] == Proposal((0, 0, 100, 100), "person", 0.5, "user")


def test_nothing_decided_nothing_carried() -> None:
    new = [_new((0, 0, 10, 10))]
    assert carry_plan([_old(1, (0, 0, 10, 10))], set(), new) == (new, [None])
    assert carry_plan([], set(), []) == ([], [])
