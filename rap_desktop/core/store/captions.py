"""Album captions: one stored caption per photo (text, the model that wrote it, the names it used)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from .base import Store


def save_caption(store: Store, photo_id: int, text: str, model: str, names: Sequence[str]) -> None:
    """Store (or replace) the photo's caption, in its own transaction."""
    with store.transaction():
        write_caption(store, photo_id, text, model, names)


def write_caption(store: Store, photo_id: int, text: str, model: str, names: Sequence[str]) -> None:
    """Store (or replace) the photo's caption inside the caller's transaction."""
    store.conn.execute(
        "INSERT OR REPLACE INTO album_captions(photo_id, text, model, concepts, created) VALUES (?,?,?,?,?)",
        (photo_id, text, model, json.dumps(list(names)), time.time()),
    )


def captioned(store: Store) -> set[int]:
    """The ids of every photo with a stored caption."""
    return {pid for (pid,) in store.conn.execute("SELECT photo_id FROM album_captions")}


def caption(store: Store, photo_id: int) -> str | None:
    """The photo's stored caption text, or None."""
    row = store.conn.execute("SELECT text FROM album_captions WHERE photo_id = ?", (photo_id,)).fetchone()
    return None if row is None else row[0]


def captions_by_path(store: Store) -> dict[str | None, str]:
    """photo path (the photos row's) -> its stored caption, for every captioned photo."""
    return dict(store.conn.execute("SELECT p.path, c.text FROM album_captions c JOIN photos p ON p.id = c.photo_id"))
