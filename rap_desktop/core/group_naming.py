"""Naming an unknown group as it was shown, and taking that back: what an undoable "Name this
group" (and its redo) needs on top of `groups.name_members`.

`name_regions` names the shown regions themselves (not a listing entry), so a redo after an undo
names exactly the same regions even though naming clears the listing. It always makes a new
concept (a name in use is refused), so `unname` can remove it whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import groups, names
from .errors import ConflictError, RapError
from .store import Concept, Store
from .store import album as album_store
from .store import corrections as log_table
from .store import groups as groups_table


@dataclass(frozen=True)
class Sample:
    region: int
    path: str | None
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Shown:
    """A group with what the GUI shows of it."""

    group: groups.Group
    model: str
    label: str  # the detector's word for the founder (the suggested category)
    samples: tuple[Sample, ...]


def describe(store: Store, model: str, found: list[groups.Group], per_group: int = 6) -> list[Shown]:
    """Up to `per_group` regions of each group (from different photos first) with their photo paths."""
    wanted = {rid for g in found for rid in g.regions}
    rows = groups_table.region_boxes(store, sorted(wanted))
    paths = album_store.photo_paths(store, sorted({r[1] for r in rows.values()}))
    out = []
    for group in found:
        present = [rows[r] for r in group.regions if r in rows]
        first: dict[int, tuple] = {}  # photo -> its first region: different photos first, then the rest
        for r in present:
            first.setdefault(r[1], r)
        spread = list(first.values())
        chosen = (spread + [r for r in present if r not in spread])[:per_group]
        samples = tuple(Sample(r[0], paths.get(r[1]), (r[2], r[3], r[4], r[5])) for r in chosen)
        out.append(Shown(group, model, present[0][6] if present else "", samples))
    return out


def find(store: Store, model: str, threshold: float, min_size: int) -> list[Shown]:
    return describe(store, model, groups.find_groups(store, model, threshold, min_size), per_group=6)


def name_regions(
    store: Store, model: str, regions: tuple[int, ...], name: str, info: str = "", category: str | None = None
) -> groups.Named:
    """The regions (founder first) become the new concept `name`: one exemplar, the rest confirmed."""
    shown = names.clean_name(name)
    if store.find_concept(shown) is not None:
        raise ConflictError(f"a concept named {names.tag(shown)} already exists; choose another name")
    return groups.name_members(store, model, list(regions), shown, info, category)


def unname(store: Store, name: str, exemplars: int = 1) -> Concept:
    """Remove the concept a naming made (its exemplar, its matches). Refused when it has gained
    photos since (more than `exemplars`): those would be lost with it."""
    concept = store.get_concept(name)
    if concept.exemplar_count > exemplars:
        raise RapError(
            f"{names.tag(concept.name)} has photos added since it was named; remove it from the library instead"
        )
    removed = store.remove_concept(concept.name)
    with store.transaction():  # the naming is taken back: `match undo` must not take it back again
        log_table.mark_naming_undone(store, concept.id)
    return removed
