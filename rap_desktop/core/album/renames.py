"""Names that stay consistent: after a concept is renamed or merged into another, what carries the
old name says the new one. Stored captions change in the store with the rename (`renamed`, one
transaction, which also notes the sidecar rewrite owed: core/store/sidecar_jobs.py); the XMP
sidecars this app wrote change file by file (`rewrite_sidecars`; core/album/name_jobs.py runs the
owed jobs: the window in the background, the CLI in the foreground), with progress and cancel
between files.

Which sidecars: those next to every indexed album photo and every photo opened by path, in both
namings (photo.jpg.xmp and photo.xmp), that this app wrote (xmp:CreatorTool) and that name the old
name; another tool's sidecar is never touched. A rerun finds nothing left to do, so a cancelled
rewrite is finished by running it again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import xmp
from ..cancel import CancelToken
from ..errors import RapError
from ..store import Store
from ..store import merge as merge_rows
from ..store import sidecar_jobs as jobs
from .indexer import Progress

STYLES = ("ext", "stem")

# Held per sidecar while this process writes one (a caption run's write, a rename, a restore), so
# two of its threads never interleave on one file. Which name a write uses is read from the store
# (`names_now`), the truth for every process.
_WRITING = threading.RLock()


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Held while one sidecar is written."""
    with _WRITING:
        yield


def names_now(store: Store, concept_ids: Iterable[int]) -> dict[int, str]:
    """The name each concept has now in the store, a merged-away one its KEEP's (merges in a row
    followed); a concept removed since is left out."""
    wanted = list(dict.fromkeys(concept_ids))
    now = store.concept_names(wanted) if wanted else {}
    for concept_id in wanted:
        if concept_id not in now and (keep := merge_rows.merged_into(store, concept_id)) is not None:
            name = store.concept_names([keep]).get(keep)
            if name is not None:
                now[concept_id] = name
    return now


def renamed(store: Store, concept_id: int, old: str, new: str) -> int:
    """Concept `concept_id` was renamed `old` -> `new`: the stored captions carrying `old` carry
    `new`, and the sidecar rewrite is owed (`sidecar_jobs`), in one transaction. Returns how many
    captions changed; a no-op when the names are the same."""
    if old == new:
        return 0
    with store.transaction():
        jobs.add(store, jobs.RENAME, concept_id, old, new)
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
    had_new: tuple[str, ...] = ()  # of `rewritten`, those that named `new` already

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
    had_new: list[str] = []
    failed: list[tuple[str, str]] = []
    done = 0
    for path in paths:
        if cancel is not None and cancel.cancelled:
            break
        try:
            with writing():
                changed, had = xmp.rewrite_name(path, old, new) if old != new else (False, False)
            if changed:
                rewritten.append(str(path))
                if had:
                    had_new.append(str(path))
        except (RapError, OSError) as exc:
            failed.append((str(path), str(exc)))
        done += 1
        if progress is not None:
            elapsed = time.perf_counter() - start
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (len(paths) - done) / rate if rate > 0 else None
            progress(Progress(done, len(paths), len(failed), rate, eta, str(path)))
    cancelled = done < len(paths)
    return RenameReport(old, new, done, tuple(rewritten), tuple(failed), cancelled, tuple(had_new))
