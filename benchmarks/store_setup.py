"""Set-up shared by the store benchmarks (album.py, text_search.py): synthetic photo and region rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # nothing of the app is imported before the script's own set-up (torch_compat)
    import numpy as np

    from rap_desktop.core.store import Store


def insert_photo_regions(store: Store, vectors: np.ndarray, label: str) -> None:
    """One region per vector, 8 per photo, on len(vectors) // 8 file-less photos; inside the caller's
    transaction."""
    regions = len(vectors)
    store.conn.executemany(
        "INSERT INTO photos(sha256, path, width, height, added) VALUES (?,?,?,?,?)",
        [(f"{i:064x}", f"/album/{i}.jpg", 640, 480, 0.0) for i in range(regions // 8)],
    )
    store.conn.executemany(
        "INSERT INTO regions(photo_id, ordinal, x1, y1, x2, y2, label, score, source, model, vector) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (i // 8 + 1, i % 8 + 1, 0, 0, 10, 10, label, 0.5, "detector", "bench", vectors[i].tobytes())
            for i in range(regions)
        ],
    )
