"""Concept names: one spelling rule for the whole app.

`<bo>`, `bo` and `Bo` name the same concept. A name is shown as typed (minus the angle brackets)
and compared by its casefolded key. Names are data only: nothing ever turns one into a path.
"""

from __future__ import annotations

import unicodedata

from .errors import InvalidNameError

MAX_NAME_LENGTH = 64
_FORBIDDEN = {"/": "a slash", "\\": "a backslash", "<": "'<' inside the name", ">": "'>' inside the name"}


def clean_name(raw: str) -> str:
    """The display form of a user-typed name, or InvalidNameError saying what is wrong."""
    if not isinstance(raw, str):
        raise InvalidNameError("a concept name must be text")
    name = unicodedata.normalize("NFC", raw).strip()
    if len(name) >= 2 and name.startswith("<") and name.endswith(">"):
        name = name[1:-1].strip()
    shown = repr(raw) if len(raw) <= 80 else repr(raw[:77] + "...")
    if not name:
        raise InvalidNameError("a concept name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"concept name {shown} is longer than {MAX_NAME_LENGTH} characters")
    for char, what in _FORBIDDEN.items():
        if char in name:
            raise InvalidNameError(f"concept name {shown} contains {what}")
    if ".." in name:
        raise InvalidNameError(f"concept name {shown} contains '..'")
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"} for c in name):
        raise InvalidNameError(f"concept name {shown} contains control or invisible characters")
    if name.strip(".") == "":
        raise InvalidNameError(f"concept name {shown} is only dots")
    return name


def name_key(raw: str) -> str:
    """The key two names are compared by: cleaned and casefolded."""
    return clean_name(raw).casefold()


def tag(name: str) -> str:
    """How the model sees a name: `<bo>`."""
    return f"<{name}>"
