"""An answer to "Is this Bo?" and what it did, in words: the answer itself ("Added to Bo's photos")
and every other box on the photo whose name changed with it (a "No" can take the name off a box
that looks like this one; a "Yes" can move a name from another box)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    command: Any  # the CorrectionCommand on the undo stack
    region_id: str
    action: str  # confirm | reject | reassign
    concept: str
    created: bool  # a new person or thing made from the box
    before: dict[str, str | None]  # region id -> the name it showed before the answer
    state: str = "sent"  # sent -> applied -> undone

    def done_text(self) -> str:
        name = self.concept
        if self.action == "confirm":
            return f"Added to {name}'s photos"
        if self.action == "reject":
            return f"Noted: this is not {name}"
        if self.created:
            return f"Remembered {name} from this box"
        return f"Now {name}: added to {name}'s photos"


def where(box: tuple[float, float, float, float], width: int) -> str:
    """A box's place on the photo in words (left / middle / right), not its id."""
    if width <= 0:
        return ""
    centre = (box[0] + box[2]) / 2 / width
    return "on the left" if centre < 1 / 3 else "on the right" if centre > 2 / 3 else "in the middle"


def side_effects(
    answered: str,
    before: dict[str, str | None],
    after: dict[str, str | None],
    where_is: Callable[[str], str],
) -> list[str]:
    """One sentence per other box whose name changed between `before` and `after`."""
    said = []
    for region_id, now in after.items():
        was = before.get(region_id)
        if region_id == answered or region_id not in before or was == now:
            continue
        place = where_is(region_id)
        box = f"the box {place}" if place else "another box"
        if now is None:
            said.append(f"Also: {box} no longer shows {was}.")
        elif was is None:
            said.append(f"Also: {box} now shows {now}.")
        else:
            said.append(f"Also: {box} changed from {was} to {now}.")
    return [s[0].upper() + s[1:] for s in said]
