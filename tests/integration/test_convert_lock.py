"""Two processes converting the same checkpoint at once: one converts, the other waits and reuses it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rap_desktop.core.models import convert
from rap_desktop.devtools.tiny_rap import write_tiny_rap

WORKER = Path(__file__).with_name("convert_worker.py")


@pytest.mark.slow
def test_two_processes_convert_once(tmp_path: Path) -> None:
    written = write_tiny_rap(tmp_path / "tiny", "vicuna_v1")
    dst, go = tmp_path / "converted", tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(2)]
    paths = (written.checkpoint, dst, written.vision_tower)
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *map(str, paths), str(r), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in ready
    ]
    while not all(r.exists() for r in ready):  # both imported and waiting: start them together
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        time.sleep(0.05)
    go.touch()
    results = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    assert [r["path"] for r in results] == [str(dst)] * 2
    writers = [r for r in results if any(s.startswith("writing weights") for s in r["stages"])]
    assert len(writers) == 1  # the copy was written once
    assert convert.is_converted(dst)
    assert not [p for p in tmp_path.iterdir() if convert.TEMP_MARK in p.name]  # fsutil's temp-folder mark
