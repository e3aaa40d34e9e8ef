"""Concept names: one spelling rule for the whole app.

`<bo>`, `bo` and `Bo` name the same concept. A name is shown as typed (minus the angle brackets)
and compared by its casefolded key. Names are data only: nothing ever turns one into a path.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from .errors import InvalidNameError

MAX_NAME_LENGTH = 64
MAX_CATEGORY_LENGTH = 64
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
    if unicodedata.category(name[0]).startswith("M"):  # an accent with nothing under it
        raise InvalidNameError(f"concept name {shown} starts with a combining mark (an accent on no letter)")
    return name


def lookalike_key(name: str) -> str:
    """What a name looks like: compatibility forms folded (full-width `ｂｏ` is `bo`), case folded."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def lookalike(name: str, taken: Iterable[str]) -> str | None:
    """The name in `taken` that `name` would be mistaken for (same look, different spelling)."""
    key, exact = lookalike_key(name), name.casefold()
    return next((other for other in taken if lookalike_key(other) == key and other.casefold() != exact), None)


def clean_category(raw: str) -> str:
    """A category (a word or two the detector looks for), or InvalidNameError saying what is wrong."""
    if not isinstance(raw, str):
        raise InvalidNameError("a category must be text")
    category = unicodedata.normalize("NFC", raw).strip()
    shown = repr(category) if len(category) <= 80 else repr(category[:77] + "...")
    if len(category) > MAX_CATEGORY_LENGTH:
        raise InvalidNameError(f"category {shown} is longer than {MAX_CATEGORY_LENGTH} characters")
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"} for c in category):
        raise InvalidNameError(f"category {shown} contains a line break, control or invisible characters")
    return category


def name_key(raw: str) -> str:
    """The key two names are compared by: cleaned and casefolded."""
    return clean_name(raw).casefold()


def tag(name: str) -> str:
    """How the model sees a name: `<bo>`."""
    return f"<{name}>"
