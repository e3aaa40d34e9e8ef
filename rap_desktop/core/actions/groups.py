"""Naming a group of look-alike unmatched regions (a new concept, every member confirmed) and its undo."""

from __future__ import annotations

from .. import group_naming, groups
from ..changes import Changes, Done
from ..session import Session
from .follow import followed

_NAMED = {"concepts": True, "exemplars": True, "corrections": True, "matches": True, "groups": True}


def name_group(
    session: Session, group_id: int, name: str, info: str = "", category: str | None = None
) -> Done[groups.Named]:
    """A group by its listed id (the CLI's `groups name`); taken back with `match undo`."""
    named = groups.name_group(session.store(), group_id, name, info, category)
    return Done(named, followed(session, Changes(**_NAMED, names=(named.concept,))))


def name_regions(
    session: Session, model: str, regions: tuple[int, ...], name: str, info: str = "", category: str | None = None
) -> Done[groups.Named]:
    """The very regions a listing showed (the GUI's naming: its redo names the same ones again)."""
    named = group_naming.name_regions(session.store(), model, regions, name, info, category)
    return Done(named, followed(session, Changes(**_NAMED, names=(named.concept,))))


def unname_group(session: Session, name: str) -> Done[str]:
    """The undo of a naming: the concept it made goes, the regions are unknown again."""
    removed = group_naming.unname(session.store(), name)
    return Done(removed.name, followed(session, Changes(**_NAMED, names=(removed.name,))))
