"""Which concepts are accepted in which photos: the sets behind "together" and "only them"."""

from __future__ import annotations

from collections.abc import Sequence

from .base import Store
from .photos import chunks


def photos_with_any(store: Store, concept_ids: Sequence[int]) -> list[int]:
    """Ids of the photos where any of `concept_ids` is accepted."""
    out: set[int] = set()
    for chunk in chunks(list(concept_ids)):
        marks = ",".join("?" * len(chunk))
        out.update(
            r[0]
            for r in store.conn.execute(
                "SELECT DISTINCT r.photo_id FROM matches m JOIN regions r ON r.id = m.region_id "
                f"WHERE m.accepted = 1 AND m.concept_id IN ({marks})",
                chunk,
            )
        )
    return sorted(out)


def accepted_sets(store: Store, photo_ids: Sequence[int]) -> dict[int, set[int]]:
    """photo id -> every concept id accepted in it (photos with none are left out)."""
    out: dict[int, set[int]] = {}
    for chunk in chunks(list(photo_ids)):
        marks = ",".join("?" * len(chunk))
        for pid, cid in store.conn.execute(
            "SELECT DISTINCT r.photo_id, m.concept_id FROM matches m JOIN regions r ON r.id = m.region_id "
            f"WHERE m.accepted = 1 AND r.photo_id IN ({marks})",
            chunk,
        ):
            out.setdefault(pid, set()).add(cid)
    return out
