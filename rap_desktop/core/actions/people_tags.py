"""Import the people tags other tools wrote (see core/people_import.py) and take an import back."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .. import corrections as log
from .. import people_import
from ..cancel import CancelToken
from ..changes import Changes, Done
from ..errors import RapError
from ..session import Session
from ..store import corrections as log_table
from .follow import followed

_IMPORTED = {"concepts": True, "exemplars": True, "corrections": True, "matches": True, "groups": True}


def people_tag_proposals(
    session: Session,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelToken | None = None,
) -> list[people_import.Proposal]:
    """What the album's photos are tagged with, as proposals (only reads)."""
    return people_import.scan(session.store(), session.embedder.model_id, progress, cancel)


def import_people_tags(
    session: Session, wanted: Sequence[str], proposals: Sequence[people_import.Proposal] | None = None
) -> Done[people_import.Imported]:
    """Make the `wanted` names concepts with their tagged regions confirmed; one `match undo` (or
    `undo_people_tags`) takes it all back. `proposals`: a scan just made (else the album is read again)."""
    if not wanted:
        raise RapError("name at least one people tag to import")
    found = list(proposals) if proposals is not None else people_tag_proposals(session)
    chosen = people_import.choose(found, wanted)
    imported = people_import.apply(session.store(), session.embedder, chosen)
    if imported.correction is None:
        return Done(imported, Changes())
    names = tuple(p.name for p in chosen)
    return Done(imported, followed(session, Changes(**_IMPORTED, names=names)))


def undo_people_tags(session: Session, correction: int) -> Done[log.Correction]:
    """Take back the import that wrote correction-log row `correction`; refused when another
    correction came after it (take that back first)."""
    store = session.store()
    newest = log_table.newest_open_id(store)
    if newest != correction:
        raise RapError("other corrections were made after this import; undo those first")
    done = log.undo(store)
    return Done(done, followed(session, Changes(**_IMPORTED)))
