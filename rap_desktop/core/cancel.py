"""A flag any thread can set and long work checks between its steps (generation, indexing, captioning,
downloads). Its own module: the album, the assistant and the UI all stop work with it, and none of
them should need the generator's module (and its imports) for that."""

from __future__ import annotations

import threading


class CancelToken:
    """Set from any thread; generation stops before its next step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
