"""When a hidden box covers a region: the same photo and an overlap of IoU >= HIDE_IOU (SQL over the aliases
`r`, a region, and `h`, a hidden_regions row). Shared by core/store/hidden.py and hidden_vectors.py."""

from __future__ import annotations

HIDE_IOU = 0.5  # = photos.CARRY_IOU

_OVERLAP = "max(0, min(r.x2, h.x2) - max(r.x1, h.x1)) * max(0, min(r.y2, h.y2) - max(r.y1, h.y1))"
_UNION = f"((r.x2 - r.x1) * (r.y2 - r.y1) + (h.x2 - h.x1) * (h.y2 - h.y1) - {_OVERLAP})"
COVERS = f"{_OVERLAP} >= {HIDE_IOU} * {_UNION}"  # the hidden box `h` covers the region `r` (same photo)
