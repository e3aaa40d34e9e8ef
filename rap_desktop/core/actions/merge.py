"""Merging two concepts that are one person or thing ("Same person or thing…", `concept merge KEEP
OTHER`) and its undo. OTHER's photos (exemplars with their embeddings), matches, negatives, the
corrections that name it and the stored captions that carry its name move to KEEP, and OTHER goes;
the merge is one correction-log entry, so `match undo` (or Undo in the window) takes it all back.
The app's sidecars follow afterwards (core/album/name_jobs.py): the merge owes them OTHER -> KEEP,
and its undo owes the ones it changed a rewrite from the store.
Which row wins where a region was matched to both: see core/store/merge.py."""

from __future__ import annotations

from dataclasses import dataclass

from .. import corrections as log
from ..changes import Changes, Done
from ..errors import RapError
from ..names import tag
from ..session import Session
from ..store import Store, sidecar_jobs
from ..store import corrections as log_table
from ..store import merge as rows
from .follow import followed


@dataclass(frozen=True)
class Merged:
    keep: str
    other: str
    correction: int  # the log entry `match undo` takes back
    exemplars: int  # photos of OTHER that are KEEP's now
    matches: int  # regions OTHER was matched to
    captions: int  # stored captions that carried OTHER's name
    keep_id: int = 0
    other_id: int = 0

    @property
    def summary(self) -> str:
        return f"merged {tag(self.other)} into {tag(self.keep)}"


def merge(store: Store, keep: str, other: str) -> Merged:
    """OTHER becomes part of KEEP, in one transaction (all or nothing)."""
    kept, gone = store.get_concept(keep), store.get_concept(other)
    if kept.id == gone.id:
        raise RapError(f"{tag(kept.name)} and {tag(other.strip())} are the same concept: name two different ones")
    with store.transaction():
        payload = rows.merge_rows(store, kept.id, gone.id)
        log_id = log_table.log(store, rows.ACTION, payload)
        # the sidecars saying OTHER are to say KEEP; the files it changes are noted for the undo
        sidecar_jobs.add(store, sidecar_jobs.RENAME, kept.id, gone.name, kept.name, log_id)
    regions = {r[0] for r in payload["matches"] if r[1] == gone.id}
    counts = (len(payload["exemplars"]), len(regions), len(payload["captions"]))
    return Merged(kept.name, gone.name, log_id, *counts, kept.id, gone.id)


_CHANGED = {"concepts": True, "exemplars": True, "corrections": True, "matches": True, "captions": True}


def merge_concepts(session: Session, keep: str, other: str) -> Done[Merged]:
    """The action: merge, then the album follows (KEEP's photos are more now)."""
    merged = merge(session.store(), keep, other)
    return Done(merged, followed(session, Changes(**_CHANGED, names=(merged.keep, merged.other))))


def unmerge(session: Session, merged: Merged) -> Done[Merged]:
    """The window's Undo of a merge: refused unless the merge is still the newest correction (the
    log is taken back newest first, as `match undo` does)."""
    store = session.store()
    if log_table.newest_open_id(store) != merged.correction:
        raise RapError("something was corrected after the merge; undo that first")
    log.undo(store)  # the sidecars the merge changed are owed a rewrite from the store (sidecar_jobs)
    return Done(merged, followed(session, Changes(**_CHANGED, names=(merged.keep, merged.other))))
