"""Concepts and their photos: add, add a photo, edit, remove (for good, or undoably) and restore."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .. import removal
from ..album import renames
from ..changes import Changes, Done
from ..images import LoadedImage
from ..session import Session
from ..store import AddResult, Box, Concept
from .follow import followed


def add_concept(
    session: Session, name: str, image: Path | LoadedImage, info: str = "", category: str = "", box: Box | None = None
) -> Done[AddResult]:
    result = session.store().add_concept(name, image, info, category, box=box)
    changes = Changes(concepts=True, exemplars=True, names=(result.concept.name,))
    return Done(result, followed(session, changes))


def add_exemplar(session: Session, name: str, image: Path | LoadedImage, box: Box | None = None) -> Done[AddResult]:
    result = session.store().add_exemplar(name, image, box=box)
    return Done(result, followed(session, Changes(exemplars=True, names=(result.concept.name,))))


def edit_concept(
    session: Session, name: str, rename: str | None = None, info: str | None = None, category: str | None = None
) -> Done[Concept]:
    """Rename / describe / categorise; matches show names, so a rename marks them too. A rename also
    renames the stored captions that carry the old name (the sidecars follow: `album.renames`)."""
    store = session.store()
    before = store.get_concept(name).name
    concept = store.edit_concept(name, rename=rename, info=info, category=category)
    captions = renames.renamed(store, concept.id, before, concept.name) > 0
    touched = tuple(dict.fromkeys((before, concept.name)))
    return Done(concept, followed(session, Changes(concepts=True, matches=True, captions=captions, names=touched)))


def remove_concept(session: Session, name: str) -> Done[Concept]:
    """For good (the CLI's `concept remove`): its photos, vectors and matches go with it."""
    concept = session.store().remove_concept(name)
    changes = Changes(concepts=True, exemplars=True, matches=True, corrections=True, names=(concept.name,))
    return Done(concept, followed(session, changes))


def remove_concepts(session: Session, names: Sequence[str]) -> Done[list[removal.RemovedConcept]]:
    """Undoably: what `restore_concepts` needs to put them back exactly is the value."""
    saved = removal.remove(session.store(), names)
    touched = tuple(c.name for c in saved)
    changes = Changes(concepts=True, exemplars=True, matches=True, corrections=True, names=touched)
    return Done(saved, followed(session, changes))


def restore_concepts(session: Session, saved: Sequence[removal.RemovedConcept]) -> Done[list[str]]:
    """The undo of `remove_concepts`: concepts, photos, vectors, corrections, then the album."""
    restored = removal.restore(session.store(), saved)
    changes = Changes(concepts=True, exemplars=True, matches=True, corrections=True, names=tuple(restored))
    return Done(restored, followed(session, changes))
