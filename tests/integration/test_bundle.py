"""The frozen bundle as a user gets it (installers/build-bundle.sh): unpacked into a temporary folder and started
with a clean environment (no venv, no PYTHONPATH, PATH=/usr/bin:/bin, a HOME and XDG folders of its own).

Runs when RAP_DESKTOP_BUNDLE names the archive (or the folder it unpacks to): .ci/run builds it, then runs this
file. The build needs the network (pip), which tests never use, so it is not done here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rap_desktop import __version__

pytestmark = pytest.mark.slow
BUNDLE_ENV = "RAP_DESKTOP_BUNDLE"
ROOT = Path(__file__).resolve().parents[2]
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "YOLO_OFFLINE": "1"}  # as every test runs


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = os.environ.get(BUNDLE_ENV)
    if not archive:
        pytest.skip(f"{BUNDLE_ENV} names no bundle (installers/build-bundle.sh makes one; .ci/run does both)")
    archive_path = Path(archive)
    if archive_path.is_dir():  # a folder unpacked already (to try a change to it without packing it again)
        return archive_path.resolve()
    assert archive_path.is_file(), f"{BUNDLE_ENV}={archive}: no such file"
    where = tmp_path_factory.mktemp("unpacked")
    subprocess.run(["tar", "-xzf", str(archive_path), "-C", str(where)], check=True)
    [folder] = list(where.iterdir())
    assert folder.name == archive_path.name.removesuffix(".tar.gz")
    return folder


@pytest.fixture
def user(tmp_path: Path) -> dict[str, str]:
    """What a desktop session gives a program: its HOME and XDG folders, a system PATH, nothing of Python."""
    home = tmp_path / "user"
    home.mkdir()
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(home / "xdg-config"),
        "XDG_DATA_HOME": str(home / "xdg-data"),
        "XDG_CACHE_HOME": str(home / "xdg-cache"),
        "XDG_STATE_HOME": str(home / "xdg-state"),
    }


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def ok(command: list[str], env: dict[str, str]) -> str:
    done = run(command, env)
    assert done.returncode == 0, f"{command} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def pinned_torch() -> str:
    pins = (ROOT / "installers" / "constraints.txt").read_text()
    return re.search(r"^torch==(\S+)$", pins, re.M).group(1)


def unfrozen_cli() -> str:
    return str(Path(sys.executable).with_name("rap-desktop"))


def test_version_says_it_is_the_bundle_and_which_torch_it_carries(bundle: Path, user: dict[str, str]) -> None:
    lines = ok([str(bundle / "rap-desktop"), "--version"], user).splitlines()
    assert lines[0].startswith(f"rap-desktop {__version__} (bundle, Python ")
    torch = re.escape(pinned_torch())
    assert re.fullmatch(rf"torch {torch}(\+\w+)?, (CPU build|CUDA [\d.]+ build \(.+\))", lines[1]), lines


def test_cli_and_window_use_the_same_folders_as_the_unfrozen_app(
    bundle: Path, user: dict[str, str], tiny_config: Path, photos: dict[str, Path]
) -> None:
    app = str(bundle / "rap-desktop")
    assert "no concepts yet" in ok([app, "concept", "list"], user)
    # a real model run inside the bundle (tiny random weights: open_clip, ultralytics, torch, faiss)
    offline = {**user, **OFFLINE}
    add = [app, "--config", str(tiny_config), "concept", "add", "bo", str(photos["astronaut"])]
    ok([*add, "--info", "<bo> is an astronaut.", "--category", "person"], offline)
    data = Path(user["XDG_DATA_HOME"]) / "rap-desktop"
    assert (data / "store.sqlite3").is_file()
    for cli in (app, unfrozen_cli()):  # an upgrade from source to the bundle, or back, keeps the concepts
        listed = json.loads(ok([cli, "concept", "list", "--json"], user))
        assert [c["name"] for c in listed["concepts"]] == ["bo"]
    # the settings file in the platform config folder (choosing the model a CPU would not), and where each model
    # was looked for (the platform cache folders under this HOME): the same for both
    settings = Path(user["XDG_CONFIG_HOME"]) / "rap-desktop" / "config.toml"
    settings.parent.mkdir(parents=True)
    chosen = '[models]\nembedder = "clip-vit-l-14-336"\ndetector = "yolo-world-v2-s"\ngenerator = "rap-phi3-mini"\n'
    settings.write_text(f"schema = 1\n{chosen}")  # all three named: "auto" differs between a CUDA and a CPU torch
    listed_models = [json.loads(ok([cli, "models", "list", "--json"], offline)) for cli in (app, unfrozen_cli())]
    models = [[(m["name"], m["selected"], m["looked"]) for m in listed["models"]] for listed in listed_models]
    assert models[0] == models[1]
    assert {"clip-vit-l-14-336", "yolo-world-v2-s"} <= {name for name, selected, _ in models[0] if selected}
    assert user["XDG_CACHE_HOME"] in json.dumps(models[0])
    settings.unlink()
    shown = show_window(app, {**offline, "RAP_DESKTOP_CONFIG": str(tiny_config)})
    assert re.fullmatch(r"rap-desktop: window shown: RAP Desktop \d+x\d+ on (xcb|offscreen), 1 concept", shown)


def test_first_start_without_models_still_reaches_the_window(bundle: Path, user: dict[str, str]) -> None:
    shown = show_window(str(bundle / "rap-desktop"), {**user, **OFFLINE})
    assert re.fullmatch(r"rap-desktop: window shown: RAP Desktop \d+x\d+ on (xcb|offscreen), 0 concepts", shown)


def show_window(app: str, env: dict[str, str]) -> str:
    """Start the window (under Xvfb where xvfb-run exists, else Qt's offscreen platform) until it is shown."""
    env = {**env, "RAP_DESKTOP_WHEN_SHOWN": "quit"}
    if shutil.which("xvfb-run", path=env["PATH"]):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1024x700x24", app]
        platform = "xcb"
    else:
        command, platform = [app], "offscreen"
        env["QT_QPA_PLATFORM"] = "offscreen"
    out = ok(command, env)
    lines = [line for line in out.splitlines() if line.startswith("rap-desktop: window shown:")]
    assert len(lines) == 1, out
    assert f" on {platform}, " in lines[0]
    return lines[0]


def test_install_puts_it_in_the_menu_and_uninstall_takes_back_only_that(bundle: Path, user: dict[str, str]) -> None:
    home = Path(user["HOME"])
    data = Path(user["XDG_DATA_HOME"])
    entry = data / "applications" / "rap-desktop.desktop"
    link = home / ".local" / "bin" / "rap-desktop"
    icons = [data / "icons/hicolor/scalable/apps/rap-desktop.svg", data / "icons/hicolor/256x256/apps/rap-desktop.png"]
    mine = data / "rap-desktop" / "my-notes.txt"  # the user's data folder: never the installer's business
    mine.parent.mkdir(parents=True)
    mine.write_text("kept")

    ok([str(bundle / "install.sh")], user)
    lines = entry.read_text().splitlines()
    assert f'Exec="{bundle}/rap-desktop"' in lines and f"TryExec={bundle}/rap-desktop" in lines
    assert "Icon=rap-desktop" in lines and all(icon.is_file() for icon in icons)
    if shutil.which("desktop-file-validate"):
        ok(["desktop-file-validate", str(entry)], user)
    assert link.resolve() == (bundle / "rap-desktop").resolve()
    assert ok([str(link), "--version"], user).startswith(f"rap-desktop {__version__} (bundle")
    ok([str(bundle / "install.sh")], user)  # again (an upgrade, a moved folder): replaces its own files

    ok([str(bundle / "uninstall.sh")], user)
    assert not entry.exists() and not link.exists() and not any(icon.exists() for icon in icons)
    assert mine.read_text() == "kept"
    assert (bundle / "rap-desktop").is_file()


def test_install_refuses_a_file_it_did_not_make_and_changes_nothing(bundle: Path, user: dict[str, str]) -> None:
    theirs = Path(user["HOME"]) / ".local" / "bin" / "rap-desktop"  # e.g. a pip-installed rap-desktop
    theirs.parent.mkdir(parents=True)
    theirs.write_text("#!/bin/sh\necho theirs\n")
    done = run([str(bundle / "install.sh")], user)
    assert done.returncode == 2 and str(theirs) in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert theirs.read_text() == "#!/bin/sh\necho theirs\n"
    assert not (Path(user["XDG_DATA_HOME"]) / "applications").exists()


def test_uninstall_keeps_a_menu_entry_the_user_changed(bundle: Path, user: dict[str, str]) -> None:
    ok([str(bundle / "install.sh")], user)
    entry = Path(user["XDG_DATA_HOME"]) / "applications" / "rap-desktop.desktop"
    entry.write_text(entry.read_text() + "Name[fr]=RAP Bureau\n")
    done = run([str(bundle / "uninstall.sh")], user)
    assert done.returncode == 2 and f"kept {entry}" in done.stderr
    assert entry.is_file() and not (Path(user["HOME"]) / ".local" / "bin" / "rap-desktop").exists()
