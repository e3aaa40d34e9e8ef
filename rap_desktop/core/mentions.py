"""The name route: which stored concepts a question names, as `<bo>`, `bo` or `Bo`.

Whole words only, so `bo` does not fire inside `bonus` or `bo-chan`, and `cat` not inside `cat-cup`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Name characters include '-' (the reference's names are like "cat-cup"), so a boundary is any
# character that is neither a word character nor '-'.
_EDGE_BEFORE = r"(?<![\w-])"
_EDGE_AFTER = r"(?![\w-])"


def mentioned(question: str, names: Iterable[str]) -> list[str]:
    """Names found in `question`, in the order they first appear; longer names win overlaps."""
    if not question:
        return []
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for name in sorted(set(names), key=len, reverse=True):
        for match in _pattern(name).finditer(question):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            taken.append(span)
            found.append((span[0], name))
            break
    return [name for _, name in sorted(found)]


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(_EDGE_BEFORE + "<?" + re.escape(name) + ">?" + _EDGE_AFTER, re.IGNORECASE)


def mention_spans(text: str, names: Iterable[str]) -> list[tuple[int, int, str]]:
    """Every place a name occurs in `text` as (start, end, name), by the same rule as `mentioned`;
    longer names win overlaps (for highlighting names in an answer)."""
    spans: list[tuple[int, int, str]] = []
    for name in sorted(set(names), key=len, reverse=True):
        for match in _pattern(name).finditer(text or ""):
            start, end = match.span()
            if not any(start < e and s < end for s, e, _ in spans):
                spans.append((start, end, name))
    return sorted(spans)


def related_names(info: str, own: str, names: Iterable[str]) -> list[str]:
    """The other concepts a concept's description relates it to ("<anna> is <bo>'s sister",
    "walks with Bo"): known names in it, bracketed or not, in the order they first appear, its
    own name left out."""
    return [name for name in mentioned(info, names) if name.casefold() != own.casefold()]
