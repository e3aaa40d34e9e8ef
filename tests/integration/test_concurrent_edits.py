"""One data folder, two real processes: one removes and renames concepts while the other adds concepts
and adds photos to the very concepts being removed or renamed (with image files the removals free)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rap_desktop.core.images import load_image
from rap_desktop.core.session import Session

from .store_worker import photo
from .test_crash_and_concurrency import _assert_healthy

WORKER = Path(__file__).with_name("edit_worker.py")
ROOT = Path(__file__).resolve().parents[2]
STEPS = 12


@pytest.mark.slow
def test_remove_and_edit_while_another_process_adds(home: Path, tiny_config: Path, photos, tmp_path: Path) -> None:
    base = load_image(photos["astronaut"]).image
    session = Session.open(home, tiny_config)
    for i in range(STEPS):
        session.store().add_concept(f"shared{i}", load_image(photo(base, i, 0), name=f"shared{i}.png"))
    session.close()
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    common = [str(home), str(tiny_config), str(photos["astronaut"])]
    procs = {
        role: subprocess.Popen(
            [sys.executable, str(WORKER), *common, role, str(STEPS), str(barrier)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("add", "edit")
    }
    outs = {role: proc.communicate(timeout=600) for role, proc in procs.items()}
    for role, proc in procs.items():
        assert proc.returncode == 0, outs[role][1]
    said = {line for out, _ in outs.values() for line in out.splitlines()}
    assert {f"removed shared{i}" for i in range(1, STEPS, 2)} <= said
    assert {f"renamed shared{i}" for i in range(0, STEPS, 2)} <= said
    names = _assert_healthy(home, tiny_config)  # no row without its file, no orphan file, index in step
    renamed = {f"Renamed{i}" for i in range(0, STEPS, 2)}
    assert set(names) == {f"new{i}" for i in range(STEPS)} | renamed
    session = Session.open(home, tiny_config)
    try:
        store = session.store()
        for i in range(0, STEPS, 2):  # a photo added before the rename landed on the renamed concept
            added = f"exemplar shared{i}" in said
            assert added or f"missed shared{i}" in said
            assert len(store.exemplars(f"Renamed{i}")) == 1 + added
            assert store.get_concept(f"Renamed{i}").info == f"<Renamed{i}> after step {i}"
    finally:
        session.close()
