"""Names that stay consistent: after a concept is renamed or merged into another, what carries the
old name says the new one. Stored captions change in the store (`rename_captions`, one
transaction); the XMP sidecars this app wrote change file by file (`rewrite_sidecars`: the window
runs it as a background job, the CLI in the foreground), with progress and cancel between files.

Which sidecars: those next to every indexed album photo and every photo opened by path, in both
namings (photo.jpg.xmp and photo.xmp), that this app wrote (xmp:CreatorTool) and that name the old
name; another tool's sidecar is never touched. A rerun finds nothing left to do, so a cancelled
rewrite is finished by running it again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import xmp
from ..cancel import CancelToken
from ..errors import RapError
from ..store import Store
from ..store import merge as merge_rows
from .indexer import Progress

STYLES = ("ext", "stem")

# The newest name of each concept renamed or merged in this process, per data folder: a sidecar
# written by a caption run maps its names through it at the moment it writes (under `_WRITING`,
# which a rename's rewrite holds per file too), so a rename made while the photo was being
# captioned is never undone by that photo's late write. The store is the truth for everything else.
_WRITING = threading.RLock()
_NAMES: dict[tuple[str, int], str] = {}
_MERGED: dict[tuple[str, int], int] = {}


def note_name(home: str | Path, concept_id: int, name: str) -> None:
    """Concept `concept_id` is called `name` from now on (a rename, or an undone merge)."""
    with _WRITING:
        _NAMES[(str(home), concept_id)] = name
        _MERGED.pop((str(home), concept_id), None)


def note_merge(home: str | Path, other: int, keep: int, keep_name: str) -> None:
    """Concept `other` is part of `keep` (called `keep_name`) from now on."""
    with _WRITING:
        _MERGED[(str(home), other)] = keep
        _NAMES[(str(home), keep)] = keep_name


def current_name(home: str | Path, concept_id: int, name: str) -> str:
    """The name concept `concept_id`, known as `name` when it was read, has now."""
    with _WRITING:
        seen = {concept_id}
        while (keep := _MERGED.get((str(home), concept_id))) is not None and keep not in seen:
            seen.add(keep)
            concept_id = keep
        return _NAMES.get((str(home), concept_id), name)


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Held while a sidecar is written with names mapped by `current_name`, and per renamed file."""
    with _WRITING:
        yield


def rename_captions(store: Store, old: str, new: str) -> int:
    """Stored captions carrying `old` (its `<tag>` in the text, or in the list of names used) carry
    `new`; returns how many changed. A no-op when the names are the same."""
    if old == new:
        return 0
    with store.transaction():
        return len(merge_rows.rename_captions(store, old, new))


def photo_files(store: Store) -> list[str]:
    """Every photo path the store knows (album files and photos opened by path), once, sorted."""
    return merge_rows.photo_files(store)


def sidecars(photos: Sequence[str]) -> list[Path]:
    """The sidecars that exist next to these photos (both namings)."""
    found = (xmp.sidecar_path(p, style) for p in photos for style in STYLES)
    return list(dict.fromkeys(path for path in found if path.is_file()))


@dataclass(frozen=True)
class RenameReport:
    old: str
    new: str
    looked: int  # sidecars looked at
    rewritten: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # (sidecar, why)
    cancelled: bool

    def line(self) -> str:
        text = f"{len(self.rewritten)} XMP sidecars now say <{self.new}> instead of <{self.old}>"
        text += f" ({self.looked} looked at"
        text += f", {len(self.failed)} could not be rewritten)" if self.failed else ")"
        return text + (" — cancelled; run it again to finish" if self.cancelled else "")


def rewrite_sidecars(
    paths: Sequence[Path],
    old: str,
    new: str,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> RenameReport:
    """Rename `old` to `new` in each of these sidecars that this app wrote (files only, no store)."""
    start = time.perf_counter()
    rewritten: list[str] = []
    failed: list[tuple[str, str]] = []
    done = 0
    for path in paths:
        if cancel is not None and cancel.cancelled:
            break
        try:
            with writing():
                if old != new and xmp.rename_in_sidecar(path, old, new):
                    rewritten.append(str(path))
        except (RapError, OSError) as exc:
            failed.append((str(path), str(exc)))
        done += 1
        if progress is not None:
            elapsed = time.perf_counter() - start
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (len(paths) - done) / rate if rate > 0 else None
            progress(Progress(done, len(paths), len(failed), rate, eta, str(path)))
    cancelled = done < len(paths)
    return RenameReport(old, new, done, tuple(rewritten), tuple(failed), cancelled)


def rename_everywhere(
    store: Store,
    old: str,
    new: str,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> RenameReport:
    """The CLI's one call: the sidecars of every known photo (captions were renamed with the concept)."""
    return rewrite_sidecars(sidecars(photo_files(store)), old, new, progress, cancel)
