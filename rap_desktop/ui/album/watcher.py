"""New photos dropped into an album folder are found while the app runs.

A QFileSystemWatcher watches every album folder and its subfolders (listed on the io lane, never
the GUI thread). A change starts a short quiet period (a copy of 300 photos is one change, not 300);
then the folders it touched are handed to the indexer, which reads only new or changed files (the
rest are skipped by their unchanged size and time). Folders the watcher cannot cover (more
subfolders than the system lets one app watch, or a watch the system refused, e.g. some network
drives) are rescanned every few minutes instead."""

from __future__ import annotations

import contextlib
import os

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from ..runtime.tasks import TaskRunner

MAX_DIRS = 2000  # folders watched in all: Linux allows 8,192 watches per user by default, shared by every app
QUIET_MS = 3000  # after the last change, before indexing
RESCAN_MS = 10 * 60 * 1000  # folders the watcher cannot cover are looked at this often


def list_dirs(roots: list[str], limit: int = MAX_DIRS) -> tuple[list[str], list[str]]:
    """(every folder to watch, the roots whose folders did not all fit under `limit`). Hidden
    folders are left out (the indexer skips them too); symlinked folders are not followed."""
    found: list[str] = []
    uncovered: list[str] = []
    for root in roots:
        mine: list[str] = []
        for path, dirs, _files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            mine.append(path)
            if len(found) + len(mine) > limit:
                break
        if len(found) + len(mine) > limit:
            uncovered.append(root)
            mine = mine[: max(0, limit - len(found))]
        found += mine
    return found, uncovered


class FolderWatcher(QObject):
    changed = Signal(list)  # album folders where something changed (new, changed or removed files)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.roots: list[str] = []
        self.uncovered: list[str] = []  # rescanned every RESCAN_MS instead
        self._touched: set[str] = set()
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._changed)
        self.quiet = QTimer(self)
        self.quiet.setSingleShot(True)
        self.quiet.setInterval(QUIET_MS)
        self.quiet.timeout.connect(self._settled)
        self.rescan = QTimer(self)
        self.rescan.setInterval(RESCAN_MS)
        self.rescan.timeout.connect(lambda: self.uncovered and self.changed.emit(list(self.uncovered)))
        self.limit = MAX_DIRS
        self.closed = False

    def watch(self, roots: list[str]) -> None:
        """Watch these album folders (and their subfolders) from now on, and only these."""
        self.roots = sorted(roots)
        with contextlib.suppress(RuntimeError):  # closing
            self.runner.submit(list_dirs, list(self.roots), self.limit, lane="io", on_done=self._listed)

    def watched(self) -> list[str]:
        return self._watcher.directories()

    def _listed(self, listing: tuple[list[str], list[str]]) -> None:
        if self.closed:
            return
        wanted, uncovered = listing
        have = set(self._watcher.directories())
        gone = [d for d in have if d not in set(wanted)]
        if gone:
            self._watcher.removePaths(gone)
        new = [d for d in wanted if d not in have]
        refused = self._watcher.addPaths(new) if new else []
        self.uncovered = sorted(set(uncovered) | {self._root_of(d) for d in refused} - {""})
        if self.uncovered:
            self.rescan.start()
        else:
            self.rescan.stop()

    def _root_of(self, path: str) -> str:
        return next((r for r in self.roots if path == r or path.startswith(r.rstrip(os.sep) + os.sep)), "")

    def _changed(self, path: str) -> None:
        root = self._root_of(path)
        if root and not self.closed:
            self._touched.add(root)
            self.quiet.start()  # again: the quiet period starts over with each change

    def _settled(self) -> None:
        roots, self._touched = sorted(self._touched), set()
        if roots and not self.closed:
            self.changed.emit(roots)
            self.watch(self.roots)  # a new subfolder is watched from now on

    def close(self) -> None:
        self.closed = True
        self.quiet.stop()
        self.rescan.stop()
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
