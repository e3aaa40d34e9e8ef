"""Free disk space, checked before a download or a conversion starts (a 13B model is tens of GB:
finding out at 90 % wastes an hour and leaves the disk full)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ..errors import RapError

_MARGIN = 1.05  # file-system overhead and the odd extra file
_RESERVE = 500e6  # never fill the disk to the last byte: the store and the OS need room too


class DiskSpaceError(RapError):
    """Not enough free space where a download or conversion would write."""


def free_bytes(folder: Path) -> int:
    """Free space on the file system that holds `folder` (or would, once created)."""
    existing = Path(folder).expanduser().absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def folder_bytes(folder: Path) -> int:
    """Bytes already in `folder` (what an interrupted download got): they need no more room."""
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def check_free_space(
    folder: Path, needed: float, what: str, how: str, free: Callable[[Path], int] = free_bytes
) -> None:
    """Raise DiskSpaceError naming what needs how much where, what is free, and what to do (`how`)."""
    needed = max(needed, 0) * _MARGIN + _RESERVE
    available = free(folder)
    if needed > available:
        raise DiskSpaceError(
            f"not enough free disk space for {what}: it needs about {_gb(needed)} in {folder} "
            f"(including {_gb(_RESERVE)} left free), but only {_gb(available)} is free there; "
            f"free some space, or {how}"
        )


def _gb(size: float) -> str:
    return f"{size / 1e9:.1f} GB"
