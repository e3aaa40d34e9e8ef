"""From raw detector boxes to the regions worth embedding: clipped, de-duplicated, whole image added.

Pure functions over plain tuples, so they are tested without any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Box = tuple[float, float, float, float]

WHOLE = "whole"
DETECTOR = "detector"
USER = "user"


@dataclass(frozen=True)
class Proposal:
    box: Box
    label: str
    score: float
    source: str  # detector | whole | user


def iou(a: Box, b: Box) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def clip_box(box: Sequence[float], width: int, height: int) -> Box:
    x1, y1, x2, y2 = (float(v) for v in box)
    return (min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width), min(max(y2, 0.0), height))


def propose(
    detections: Sequence[tuple[Box, str, float]],
    width: int,
    height: int,
    *,
    min_side: float = 16.0,
    merge_iou: float = 0.8,
    max_regions: int = 16,
    whole_iou: float = 0.9,
) -> list[Proposal]:
    """Detector boxes, best first, minus slivers and near-duplicates, plus the whole image.

    Near-duplicates (IoU above `merge_iou`, typically one object under two class prompts) keep the
    higher-scoring box; crops of them would embed alike and waste encoder time. The whole photo is
    always a candidate (a concept can fill the frame) unless a detection already covers it.
    """
    kept: list[Proposal] = []
    for box, label, score in sorted(detections, key=lambda d: -d[2]):
        clipped = clip_box(box, width, height)
        if clipped[2] - clipped[0] < min_side or clipped[3] - clipped[1] < min_side:
            continue
        if any(iou(clipped, other.box) > merge_iou for other in kept):
            continue
        kept.append(Proposal(clipped, label, float(score), DETECTOR))
        if len(kept) == max_regions:
            break
    whole = (0.0, 0.0, float(width), float(height))
    if not any(iou(whole, p.box) > whole_iou for p in kept):
        kept.append(Proposal(whole, "image", 1.0, WHOLE))
    return kept
