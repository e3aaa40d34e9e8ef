"""A question about the photo on view carries what the photo view already has (its decode and its
retrieval): the file is not read again and nothing is written to the store for it. Seen through
real hooks: Python's audit events for file opens, and SQLite's data_version, which changes when
another connection commits a change to the database."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rap_desktop.core.photo_context import PhotoContext

from .photo_helpers import idle, open_photo
from .windows import shown_window

WAIT = 60_000  # ms; the first answer converts and loads the tiny generator

_opened: list[str] = []
_watching: list[str] = []  # the file whose opens are counted (an audit hook cannot be removed)


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _watching and isinstance(args[0], str | Path) and str(args[0]) == _watching[0]:
        _opened.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def watched() -> Iterator[list[str]]:
    yield _opened
    _watching.clear()
    _opened.clear()


def test_a_question_about_the_photo_on_view_reuses_its_decode_and_retrieval(
    qtbot, session, photos, tmp_path: Path, watched: list[str]
) -> None:
    store = session.store()
    store.add_concept("chelsea", photos["chelsea"], "<chelsea> is our tabby cat.", "cat")
    store.add_concept("eileen", photos["astronaut"], "<eileen> is an astronaut.", "person")
    win = shown_window(qtbot, session, tmp_path / "ui.ini", timeout=WAIT)
    try:
        chat = win.assistant.panel
        open_photo(qtbot, win, photos["astronaut"])
        qtbot.waitUntil(lambda: chat.context is not None, timeout=WAIT)
        context = chat.context
        assert isinstance(context, PhotoContext) and context.photo is win.photos.loaded
        idle(qtbot, win)
        watcher = sqlite3.connect(store.home / "store.sqlite3")  # data_version counts others' commits
        before = watcher.execute("PRAGMA data_version").fetchone()[0]
        _watching.append(str(photos["astronaut"]))
        with qtbot.waitSignal(chat.answer_finished, timeout=WAIT):
            chat.caption()
        reply = chat.turns[-1].reply
        assert reply is not None, chat.turns[-1].error
        assert watched == []  # the photo file was not opened again
        assert watcher.execute("PRAGMA data_version").fetchone()[0] == before  # no regions or matches rewritten
        watcher.close()
        assert reply.retrieval is not None and reply.retrieval.regions is context.retrieval.regions
    finally:
        win.close()
