"""Exit statuses 1 (internal error) and 130 (Ctrl-C) from the real console script in its own process,
and the data folder intact afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

EXE = Path(sys.executable).with_name("rap-desktop")


def _env(home: Path, config: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "RAP_DESKTOP_HOME": str(home), "RAP_DESKTOP_CONFIG": str(config), **extra}


def _run(home: Path, config: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], env=_env(home, config, **extra), capture_output=True, text=True, timeout=600)


def _intact(home: Path, config: Path, names: list[str]) -> None:
    assert _run(home, config, "check").returncode == 0
    listed = _run(home, config, "concept", "list", "--json")
    assert [c["name"] for c in json.loads(listed.stdout)["concepts"]] == names


def test_internal_error_exits_1_with_one_line(home: Path, tiny_config: Path, photos) -> None:
    assert _run(home, tiny_config, "concept", "add", "bo", str(photos["chelsea"])).returncode == 0
    # a settings value of a type the code never expects (text where the concept limit's number goes):
    # the code has no check for it, so it ends in the internal-error path. Should that setting get a
    # check (exit 2), pick another unchecked value here.
    broken = tiny_config.with_name("config-limit-is-text.toml")
    broken.write_text(tiny_config.read_text(encoding="utf-8") + '\n[retrieval]\nlimit = "two"\n', encoding="utf-8")
    done = _run(home, broken, "retrieve", str(photos["chelsea"]))
    assert done.returncode == 1, done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and line.startswith("rap-desktop: internal error: ValueError:"), done.stderr
    assert done.stdout == ""
    debug = _run(home, broken, "retrieve", str(photos["chelsea"]), RAP_DESKTOP_DEBUG="1")
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    _intact(home, tiny_config, ["bo"])


def _album(folder: Path, source: Path, count: int) -> Path:
    folder.mkdir()
    base = Image.open(source).convert("RGB")
    for i in range(count):  # distinct content per file: each is indexed, not recognised as a copy
        base.crop((i * 5, i * 3, i * 5 + 160, i * 3 + 120)).save(folder / f"p{i:02}.png")
    return folder


def _wait_for(stream, text: str) -> str:
    """Read `stream` until `text` appears (the process says it reached that point); returns what was read."""
    seen = ""
    while text not in seen:
        char = stream.read(1)
        assert char, f"the process ended before saying {text!r}: {seen!r}"
        seen += char
    return seen


@pytest.mark.slow
def test_ctrl_c_during_index_exits_130_and_the_same_command_goes_on(
    home: Path, tiny_config: Path, photos, tmp_path: Path
) -> None:
    album = _album(tmp_path / "album", photos["astronaut"], 16)
    command = [EXE, "index", str(album), "--batch", "1", "--json"]
    env = _env(home, tiny_config)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    before = _wait_for(proc.stderr, "rap-desktop: index ")  # the run is under way: its first progress line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, before + err
    assert "cancelling after the current batch" in err
    first = json.loads(out)  # what it did is still reported, as one JSON document
    assert first["interrupted"] is True and first["cancelled"] is True
    assert first["indexed"] < first["files"] == 16
    assert _run(home, tiny_config, "check").returncode == 0
    again = _run(home, tiny_config, "index", str(album), "--json")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert "interrupted" not in second and not second["cancelled"]
    assert second["indexed"] + second["unchanged"] == 16 and second["unchanged"] >= first["indexed"]


def test_ctrl_c_at_a_prompt_exits_130(home: Path, tiny_config: Path, photos) -> None:
    assert _run(home, tiny_config, "concept", "add", "bo", str(photos["chelsea"])).returncode == 0
    command = [EXE, "chat", str(photos["chelsea"])]
    proc = subprocess.Popen(
        command,
        env=_env(home, tiny_config),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    _wait_for(proc.stderr, "> ")  # waiting for a question on stdin
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "rap-desktop: interrupted" and out == ""
    _intact(home, tiny_config, ["bo"])
