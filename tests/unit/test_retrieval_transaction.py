"""One retrieval is one write transaction: the photo row, its regions and their matches commit together
(real store, FAISS and tiny CLIP; the statements are counted on the store's own SQLite connection)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import Retriever
from rap_desktop.core.store import Store


@contextmanager
def write_transactions(store: Store) -> Iterator[list[str]]:
    """The write transactions (BEGIN IMMEDIATE) opened on the store's connection meanwhile."""
    seen: list[str] = []
    store.conn.set_trace_callback(lambda sql: seen.append(sql) if sql.strip().upper() == "BEGIN IMMEDIATE" else None)
    try:
        yield seen
    finally:
        store.conn.set_trace_callback(None)


@pytest.fixture
def retriever(store: Store) -> Retriever:
    return Retriever(store, store.embedder, detector=None, threshold=0.999, limit=2)


def test_a_retrieval_writes_once_new_seen_or_refreshed(retriever: Retriever, store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"], category="cat")
    loaded = load_image(photos["chelsea"])
    for refresh in (False, False, True):  # a new photo, its stored regions reused, detected again
        with write_transactions(store) as seen:
            result = retriever.retrieve(loaded, path=str(photos["chelsea"]), refresh=refresh)
        assert len(seen) == 1, refresh
        assert result.regions[0].accepted.concept == "mochi"


def test_a_failed_match_write_leaves_no_half_stored_photo(retriever: Retriever, store: Store, photos) -> None:
    store.add_concept("mochi", photos["chelsea"], category="cat")
    store.conn.execute(
        "CREATE TEMP TRIGGER no_matches BEFORE INSERT ON matches BEGIN SELECT RAISE(ABORT, 'no room'); END"
    )
    with pytest.raises(sqlite3.IntegrityError):
        retriever.retrieve(load_image(photos["coffee"]), path=str(photos["coffee"]))
    assert store.conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 0
    assert store.conn.execute("SELECT COUNT(*) FROM regions").fetchone()[0] == 0
    store.conn.execute("DROP TRIGGER no_matches")
    result = retriever.retrieve(load_image(photos["coffee"]), path=str(photos["coffee"]))
    assert [r.id for r in result.regions] == ["r1"]
