"""PySide6 6.12 loses references to Python's singletons: every Python-side `signal.emit()` hands
back True without owning it, and some void calls (QScrollBar.setValue, processEvents) drop one
from None. Each emit costs True one reference; tens of thousands of emits (scrolling the album
grid past 10,000 thumbnails: a task result, a ready signal and two busy updates per thumbnail)
bring it to zero and CPython aborts ("Fatal Python error: bool_dealloc").

Python 3.12 makes these singletons immortal. On 3.11 we give them a reference count that no
session can use up (2**40), once, when the UI package is imported. They are never freed anyway.
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40
_done = False


def protect_singletons() -> None:
    global _done
    if _done or sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return
    for singleton in (True, False, None):
        ctypes.c_ssize_t.from_address(id(singleton)).value += RESERVE  # ob_refcnt, the first field
    _done = True
