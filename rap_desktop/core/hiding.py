"""Hide for good: a group or a region is "a stranger", never offered again in the unknown groups or the
review queue, even after its photo is indexed again (core/store/hidden.py says how that is kept).

Each hide and unhide writes one correction-log row whose payload lists the hidden rows it wrote or
removed, so `match undo` (and the window's undo) takes it back exactly. The same stranger in other photos
is kept out with them: see core/store/hidden_vectors.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import groups
from .errors import NotFoundError, RapError
from .store import Store
from .store import corrections as log_table
from .store import groups as groups_table
from .store import hidden as hidden_table
from .store.hidden_vectors import LOOKALIKE, lookalike_mask


@dataclass(frozen=True)
class Hidden:
    correction: int  # the correction-log row that takes it back
    group: int | None  # the group id it was hidden under (None: single regions)
    regions: int  # boxes hidden (or shown again, for an unhide)


def hide_regions(store: Store, region_ids: list[int], group_id: int | None = None, what: str = "") -> Hidden:
    """Hide the regions (a group's members, or one region) in one logged step."""
    with store.transaction():
        rows = hidden_table.hide(store, region_ids, group_id)
        if not rows:
            raise RapError(f"{what or 'those regions'} no longer exist or are hidden already; list them again")
        groups_table.drop_groups_with(store, region_ids)
        log_id = log_table.log(store, "hide", {"hidden": rows, "group": group_id})
    return Hidden(log_id, group_id, len(rows))


def hide_group(store: Store, group_id: int) -> Hidden:
    """The listed group `group_id` (as `groups list` showed it) is hidden for good."""
    _, ids = groups.stored_group(store, group_id)
    return hide_regions(store, ids, group_id, f"group {group_id}")


def unhide_group(store: Store, group_id: int) -> Hidden:
    """Show a hidden group again (its regions come back in the groups and the review)."""
    with store.transaction():
        rows = hidden_table.rows_of_group(store, group_id)
        if not rows:
            raise NotFoundError(f"no hidden group {group_id}; see them with `rap-desktop groups hidden`")
        hidden_table.remove(store, [r["id"] for r in rows])
        log_id = log_table.log(store, "unhide", {"unhidden": rows, "group": group_id})
    return Hidden(log_id, group_id, len(rows))


def lookalikes(store: Store, model: str, threshold: float = LOOKALIKE, limit: int = 10_000) -> int:
    """How many of the newest `limit` unmatched regions (as the groups see them) are kept out of the groups
    and the review because they look like a hidden stranger."""
    rows = groups_table.unmatched_regions(store, model, False, limit)
    if not rows:
        return 0
    vectors = np.stack([np.frombuffer(r[2], np.float32) for r in rows])
    return int(lookalike_mask(store, model, vectors, threshold).sum())
