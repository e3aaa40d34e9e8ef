"""Naming a group of look-alike unmatched regions (a new concept, every member confirmed) and its undo."""

from __future__ import annotations

from .. import group_naming, groups, hiding
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


def hide_group(session: Session, group_id: int) -> Done[hiding.Hidden]:
    """`groups hide ID`: the listed group is a stranger, never offered again; `match undo` takes it back."""
    hidden = hiding.hide_group(session.store(), group_id)
    return Done(hidden, followed(session, Changes(corrections=True, groups=True)))


def hide_regions(session: Session, regions: tuple[int, ...], group_id: int | None = None) -> Done[hiding.Hidden]:
    """The very regions a listing showed (the window's "Hide"), hidden for good."""
    hidden = hiding.hide_regions(session.store(), list(regions), group_id)
    return Done(hidden, followed(session, Changes(corrections=True, groups=True)))


def unhide_group(session: Session, group_id: int) -> Done[hiding.Hidden]:
    """`groups unhide ID`: a hidden group is offered again (itself one correction, undone by `match undo`)."""
    hidden = hiding.unhide_group(session.store(), group_id)
    return Done(hidden, followed(session, Changes(corrections=True, groups=True)))
