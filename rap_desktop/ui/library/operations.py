"""Plain functions the window runs in background lanes (never on the GUI thread).

Store-lane functions take the Store first; io-lane functions touch only files. No widgets here, so
each is easy to read next to the core call it wraps.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rap_desktop.core.backup import export_zip
from rap_desktop.core.errors import RapError
from rap_desktop.core.images import IMAGE_EXTENSIONS
from rap_desktop.core.session import Session
from rap_desktop.core.store import CONTENT_NAME, Concept, Exemplar, Store

T = TypeVar("T")

# Picked from a dropped folder; a file dropped by itself is always tried (load_image then says what
# is wrong with it, in words).
IMAGE_FILTER = "Images (" + " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS)) + ");;All files (*)"


@dataclass(frozen=True)
class ConceptEntry:
    """One row of the concept list: the concept and the photo that stands for it."""

    concept: Concept
    cover: str | None  # image file name of its first exemplar (the thumbnail cache key)
    cover_path: Path | None


@dataclass(frozen=True)
class ExemplarEntry:
    exemplar: Exemplar
    path: Path


def with_store(session: Session, fn: Callable[..., T], *args: Any) -> T:
    # opening the store (and building the embedder) happens here too, on the store lane
    return fn(session.store(), *args)


def list_entries(store: Store) -> list[ConceptEntry]:
    covers: dict[int, str] = {}
    for exemplar in store.exemplars():  # ordered by id: the first one registered is the cover
        if CONTENT_NAME.fullmatch(exemplar.image):  # a damaged row gives no cover (check names it)
            covers.setdefault(exemplar.concept_id, exemplar.image)
    entries = []
    for concept in store.list_concepts():
        cover = covers.get(concept.id)
        entries.append(ConceptEntry(concept, cover, store.image_path(cover) if cover else None))
    return entries


def warm_up(store: Store) -> tuple[str, bool]:
    """At start: embed what is missing and bring the search index up to date (loaded from its cache,
    or rebuilt when missing, stale or damaged), so the first question does not wait for it.
    Returns a status message and whether it is a warning."""
    if store.read_only:  # say it once, plainly: looking and exporting work, changes are refused
        return f"The {store.read_only}: you can look, search and export, but not change anything.", True
    if store.embedder is None:
        return "", False
    try:
        embedded = store.embed_missing()
        count = store.index().count
    except RapError as exc:  # typically missing weights: everything else still works
        return f"Search not ready: {exc}", True
    extra = f", {embedded} newly embedded" if embedded else ""
    return f"Search ready: {count} photo{'s' * (count != 1)} indexed{extra}.", False


def exemplar_entries(store: Store, name: str) -> list[ExemplarEntry]:
    return [ExemplarEntry(e, store.image_path(e.image)) for e in store.exemplars(name)]


def export_backup(store: Store, archive: Path) -> int:
    return export_zip(store, archive)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Dropped files as they are; a dropped folder -> the images directly inside it, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            with os.scandir(path) as entries:
                images = [Path(e.path) for e in entries if e.is_file() and _is_image_name(e.name)]
            found.extend(sorted(images, key=lambda p: p.name.casefold()))
        else:
            found.append(path)
    return found


def _is_image_name(name: str) -> bool:
    # hidden files include macOS "._photo.jpg" resource forks, which are not photos
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS
