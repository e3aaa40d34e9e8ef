"""The list of image files a store is writing, so that after a crash exactly those can be removed.

Before an image file is written, its name is appended to this process's journal and flushed to
disk. The journal stays locked (flock) while its store is open: a journal nobody holds belongs to a
process that died. Cleaning up after a crash means: for each name in an abandoned journal, the file
(and its temp files) if no row names it. Nothing else under images/ is ever removed on open: a file
the app did not record there is not the app's to delete.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

FOLDER = "pending"  # <home>/pending/<token>.journal
_NAME = re.compile(r"[0-9a-f]{16}\.journal")


def _try_lock(fd: int) -> bool:
    """An exclusive lock without waiting; False when another open journal holds it."""
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class Journal:
    """This store's journal: opened (and locked) on the first record, removed on close."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path: Path | None = None
        self._fd: int | None = None

    def record(self, names: Iterable[str]) -> None:
        """These files are about to be written (or may lose their last row): say so durably first."""
        text = "".join(f"{name}\n" for name in names)
        if not text:
            return
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = self.folder / f"{secrets.token_hex(8)}.journal"
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            _try_lock(self._fd)  # a new file: nobody else can hold it
        os.write(self._fd, text.encode("utf-8"))
        os.fsync(self._fd)

    def clear(self) -> None:
        """The transaction ended and its files are settled (named by rows, or removed)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
                os.lseek(self._fd, 0, os.SEEK_SET)

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            if self.path is not None:
                with contextlib.suppress(OSError):
                    self.path.unlink()
            self._fd = self.path = None


@contextlib.contextmanager
def abandoned(folder: Path) -> Iterator[list[tuple[Path, list[str]]]]:
    """Journals whose process is gone, with the names they list; held (locked) until the block ends,
    then removed. The caller removes the files no row names."""
    held: list[tuple[int, Path, list[str]]] = []
    folder = Path(folder)
    try:
        paths = sorted(p for p in folder.iterdir() if _NAME.fullmatch(p.name)) if folder.is_dir() else []
        for path in paths:
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue
            if not _try_lock(fd):
                os.close(fd)  # its store is still open, in this process or another one
                continue
            with open(path, "rb") as handle:
                lines = handle.read().decode("utf-8", "replace").splitlines()
            held.append((fd, path, [line for line in lines if line]))
        yield [(path, found) for _, path, found in held]
        for _, path, _names in held:
            with contextlib.suppress(OSError):
                path.unlink()
    finally:
        for fd, _, _ in held:
            os.close(fd)


def listed(folder: Path) -> set[str]:
    """Every name in every journal, live or abandoned: files some writer has claimed."""
    names: set[str] = set()
    with contextlib.suppress(OSError):
        for path in Path(folder).iterdir():
            if _NAME.fullmatch(path.name):
                with contextlib.suppress(OSError):
                    names.update(path.read_bytes().decode("utf-8", "replace").split())
    return names
