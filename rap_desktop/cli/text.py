"""Text for a terminal: what could act on it shown escaped, and the shared one-line notices."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ..core.changes import Changes
from ..core.fsutil import is_text

# Control characters, bidi overrides, line separators and lone surrogates (file names that are not
# UTF-8): printed raw they would recolour or reorder the terminal, or split a one-line message.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")


def terminal_text(text: str, one_line: bool = False) -> str:
    """`text` safe to print on a terminal: what could act on it is shown escaped (\\x1b, \\u202e, \\n)."""
    pattern = _UNSAFE_LINE if one_line else _UNSAFE
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def warn(text: str) -> None:
    if text:
        print(f"rap-desktop: warning: {terminal_text(text, one_line=True)}", file=sys.stderr)


def rematched(changes: Changes) -> None:
    """After a change: say when the album's decisions moved with it (the action re-matched it)."""
    if changes.decisions_changed:
        print(f"rap-desktop: album re-matched: {changes.decisions_changed} decisions changed", file=sys.stderr)


def photo_path(image: Path) -> str | None:
    """The photo's path to remember with it, when it can be stored as text (not UTF-8: none)."""
    path = str(image.resolve())
    return path if is_text(path) else None


def progress(stage: str, fraction: float) -> None:
    print(f"rap-desktop: {stage} {100 * fraction:.0f}%", file=sys.stderr)
