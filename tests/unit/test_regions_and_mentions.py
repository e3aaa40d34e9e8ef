from __future__ import annotations

import pytest

from rap_desktop.core.mentions import mentioned
from rap_desktop.core.regions import iou, propose


def test_boxes_are_clipped_slivers_dropped_duplicates_merged_whole_added() -> None:
    detections = [
        ((-10, -10, 50, 60), "dog", 0.9),  # clipped to the image
        ((0, 0, 48, 58), "cat", 0.5),  # same object under another prompt: merged away
        ((100, 100, 105, 180), "cup", 0.8),  # 5 px wide: a sliver
        ((120, 20, 190, 90), "cup", 0.3),
    ]
    regions = propose(detections, 200, 200, min_side=16)
    assert [(r.box, r.label, r.source) for r in regions] == [
        ((0.0, 0.0, 50.0, 60.0), "dog", "detector"),
        ((120.0, 20.0, 190.0, 90.0), "cup", "detector"),
        ((0.0, 0.0, 200.0, 200.0), "image", "whole"),
    ]


def test_whole_image_not_repeated_when_a_detection_covers_it() -> None:
    regions = propose([((1, 1, 199, 199), "dog", 0.9)], 200, 200)
    assert [r.source for r in regions] == ["detector"]
    assert propose([], 64, 32)[0].box == (0.0, 0.0, 64.0, 32.0)


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is <bo> doing?", ["bo"]),
        ("is Bo here?", ["bo"]),
        ("BO and <cat-cup> on the table", ["bo", "cat-cup"]),
        ("<cat-cup> next to bo", ["cat-cup", "bo"]),
        ("a bonus for the boat", []),  # short names never fire inside other words
        ("bo-chan is not bo's sibling", ["bo"]),  # 'bo' inside 'bo-chan' does not count; "bo's" does
        ("a cat-cup, not a cat", ["cat-cup", "cat"]),
        ("", []),
    ],
)
def test_name_route(question: str, expected: list[str]) -> None:
    assert mentioned(question, ["bo", "cat-cup", "cat"]) == expected
