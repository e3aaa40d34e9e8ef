"""Hidden strangers restored from a backup (core/backup_hidden.py reads and checks them first).

A region already hidden here (same photo content, a box overlapping by IoU >= HIDE_IOU) is not added
twice, so restoring a backup again changes nothing. A hidden group keeps its number where no group here
was ever given it (`groups unhide ID` then works as before the backup), takes the number of the group
here that already hides the same boxes, and otherwise gets a fresh one: a number never names two groups.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import hidden_vectors
from .base import Store
from .groups import next_group_id
from .hidden_overlap import HIDE_IOU

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class HiddenEntry:
    sha256: str
    box: Box
    group: int | None
    created: float | None
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict)  # its looks, by model


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def _existing(store: Store, entry: HiddenEntry) -> tuple[int, int | None] | None:
    """(row id, group) of a hidden row here that already hides the entry's box, or None."""
    rows = store.conn.execute(
        "SELECT id, x1, y1, x2, y2, group_id FROM hidden_regions WHERE sha256 = ? ORDER BY id", (entry.sha256,)
    )
    for row in rows.fetchall():
        if _iou(row[1:5], entry.box) >= HIDE_IOU:
            return int(row[0]), row[5]
    return None


def _numbers(store: Store, entries: Sequence[HiddenEntry]) -> dict[int, int]:
    """The group number here for each group number of the backup."""
    fresh = next_group_id(store)
    out: dict[int, int] = {}
    for entry in entries:
        found = _existing(store, entry) if entry.group is not None else None
        if found is not None and found[1] is not None:
            out.setdefault(entry.group, int(found[1]))  # type: ignore[arg-type]
    wanted = sorted({e.group for e in entries if e.group is not None and e.group not in out})
    kept = [g for g in wanted if g >= fresh]  # never given here
    top = max([fresh - 1, *kept])
    for number in wanted:
        if number >= fresh:
            out[number] = number
        else:
            top += 1
            out[number] = top
    return out


def restore(store: Store, entries: Sequence[HiddenEntry]) -> tuple[int, int]:
    """Add the hidden regions of a backup with their looks, in one transaction: (added, already hidden)."""
    if not entries:
        return 0, 0
    added = present = 0
    now = time.time()
    with store.transaction():
        numbers = _numbers(store, entries)
        for entry in entries:
            if _existing(store, entry) is not None:
                present += 1
                continue
            group = numbers.get(entry.group) if entry.group is not None else None
            cur = store.conn.execute(
                "INSERT INTO hidden_regions(sha256, x1, y1, x2, y2, group_id, created) VALUES (?,?,?,?,?,?,?)",
                (entry.sha256, *entry.box, group, entry.created if entry.created is not None else now),
            )
            for model, vector in entry.vectors.items():
                hidden_vectors.add(store, int(cur.lastrowid), model, vector)
            added += 1
        if numbers:  # the numbers given here are never given to a new group
            store.conn.execute(
                "INSERT INTO meta(key, value) VALUES ('next_group_id', ?) ON CONFLICT(key) DO UPDATE "
                "SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                (str(max(numbers.values()) + 1),),
            )
    return added, present
