"""kill -9 in the middle of adds loses nothing committed; two processes share a store safely."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rap_desktop.core import health
from rap_desktop.core.session import Session

WORKER = Path(__file__).with_name("store_worker.py")


def _worker(home: Path, config: Path, photo: Path, prefix: str, count: int, salt: int, shared: str = ""):
    args = [sys.executable, str(WORKER), str(home), str(config), str(photo), prefix, str(count), str(salt)]
    return subprocess.Popen(
        [*args, shared] if shared else args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _assert_healthy(home: Path, config: Path) -> list[str]:
    session = Session.open(home, config)
    store = session.store()
    try:
        assert health.check(store) == []
        names = [c.name for c in store.list_concepts()]
        referenced = {e.image for e in store.exemplars()}
        on_disk = {p.name for p in store.images_dir.rglob("*") if p.is_file()}
        assert on_disk == referenced  # no orphan left, no row without its file
        assert store.index().count == len(store.exemplars())
        return names
    finally:
        session.close()


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [random.Random(7).randint(5, 60), 1])
def test_kill_9_mid_adds_loses_nothing_committed(
    home: Path, tiny_config: Path, photos: dict[str, Path], kill_after: int
) -> None:
    proc = _worker(home, tiny_config, photos["astronaut"], "c", 100, 0)
    committed = []
    assert proc.stdout is not None
    for line in proc.stdout:
        committed.append(line.split()[1])
        if len(committed) >= kill_after:
            time.sleep(random.Random(kill_after).uniform(0, 0.05))  # land somewhere inside the next add
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    names = _assert_healthy(home, tiny_config)
    assert set(committed) <= set(names)
    assert len(names) <= len(committed) + 1  # at most the add in flight, if its COMMIT landed


@pytest.mark.slow
def test_two_processes_write_one_store(home: Path, tiny_config: Path, photos: dict[str, Path], tmp_path) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    Session.open(home, tiny_config).store().close()  # create the store before the race
    a = _worker(home, tiny_config, photos["astronaut"], "a", 25, 1, str(barrier))
    b = _worker(home, tiny_config, photos["chelsea"], "b", 25, 2, str(barrier))
    outs = [p.communicate(timeout=300) for p in (a, b)]
    for proc, (_, err) in zip((a, b), outs, strict=True):
        assert proc.returncode == 0, err
    lines = [line for out, _ in outs for line in out.splitlines()]
    won = [line.split()[1] for line in lines if line.startswith("won")]
    lost = [line.split()[1] for line in lines if line.startswith("lost")]
    assert sorted(won) == sorted(lost) == sorted(f"shared{i}" for i in range(0, 25, 5))
    names = _assert_healthy(home, tiny_config)
    assert len(names) == 50 + 5
    # each process's in-memory index caught up with the other's writes before it searched
    assert [line for line in lines if line.startswith("index")] == ["index 55", "index 55"]
