"""Corrections of a region's match (confirm, reject, reassign) and their undo: retrieval learns from
each at once, so the album re-matches after every one."""

from __future__ import annotations

from .. import corrections as log
from ..changes import Changes, Done
from ..errors import RapError
from ..session import Session
from .follow import followed


def _done(session: Session, correction: log.Correction, changes: Changes) -> Done[log.Correction]:
    return Done(correction, followed(session, changes))


def confirm(session: Session, photo: str, region: str, concept: str | None = None) -> Done[log.Correction]:
    done = log.confirm(session.store(), photo, region, concept)
    names = (concept,) if concept else ()
    return _done(session, done, Changes(corrections=True, matches=True, exemplars=True, names=names))


def reject(session: Session, photo: str, region: str, concept: str | None = None) -> Done[log.Correction]:
    done = log.reject(session.store(), photo, region, concept)
    return _done(session, done, Changes(corrections=True, matches=True, names=(concept,) if concept else ()))


def reassign(
    session: Session, photo: str, region: str, concept: str, info: str = "", category: str | None = None
) -> Done[log.Correction]:
    """The region shows `concept`, made from the region when it is new."""
    done = log.reassign(session.store(), photo, region, concept, info, category)
    changes = Changes(corrections=True, matches=True, concepts=True, exemplars=True, names=(concept,))
    return _done(session, done, changes)


def correct(
    session: Session,
    action: str,
    photo: str,
    region: str,
    concept: str | None,
    info: str = "",
    category: str | None = None,
) -> Done[log.Correction]:
    """One of the three by name (the GUI's region menu gives the word)."""
    if action == "confirm":
        return confirm(session, photo, region, concept)
    if action == "reject":
        return reject(session, photo, region, concept)
    if action == "reassign":
        if not concept:
            raise RapError("reassign needs a concept name")
        return reassign(session, photo, region, concept, info, category)
    raise ValueError(f"unknown correction {action!r}")


def undo_correction(session: Session) -> Done[log.Correction]:
    """Take back the newest correction; a confirm's photo, a reassign's or a naming's new concept go
    with it (a reject's undo only lifts its negative)."""
    done = log.undo(session.store())
    photos = done.action != "reject"
    changes = Changes(corrections=True, matches=True, concepts=photos, exemplars=photos)
    return _done(session, done, changes)
