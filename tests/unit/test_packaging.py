"""Starting the app the usual ways: `python -m rap_desktop`, a desktop launcher (.desktop file, icon,
gui-scripts entry), and the resources found from a checkout and from an installed package."""

from __future__ import annotations

import configparser
import importlib
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from rap_desktop.resource_files import APP_ICON_PNG, APP_ICON_SVG, DESKTOP_FILE, resource_path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_python_m_rap_desktop_is_the_rap_desktop_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rap_desktop", "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "usage: rap-desktop" in done.stdout


def test_desktop_file_starts_the_gui_script_with_the_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(resource_path(DESKTOP_FILE), encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Terminal"] == "false"
    gui_scripts = PYPROJECT["project"]["gui-scripts"]
    assert desktop["Exec"].split()[0] in gui_scripts
    module, function = gui_scripts[desktop["Exec"].split()[0]].split(":")
    assert callable(getattr(importlib.import_module(module), function))
    assert desktop["Icon"] == Path(APP_ICON_SVG).stem == Path(APP_ICON_PNG).stem


def test_icon_files() -> None:
    svg = ET.parse(resource_path(APP_ICON_SVG)).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    with Image.open(resource_path(APP_ICON_PNG)) as png:
        assert png.size == (256, 256) and png.mode == "RGBA"


def test_every_package_is_listed_for_installation() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    in_tree = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "rap_desktop").rglob("__init__.py")
    }
    assert listed == in_tree | {"rap_desktop.resources"}
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["rap_desktop.resources"] == "resources"


@pytest.mark.slow
def test_an_installed_package_finds_its_resources(tmp_path: Path) -> None:
    """setuptools' build step (what a wheel holds), then the resources looked up from that copy alone."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("rap_desktop", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = tmp_path / "built"
    build = [sys.executable, "-c", "from setuptools import setup; setup()", "build_py", "-d", str(built)]
    done = subprocess.run(build, cwd=source, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    names = (APP_ICON_SVG, APP_ICON_PNG, DESKTOP_FILE)
    assert all((built / "rap_desktop" / "resources" / name).is_file() for name in names)
    lookup = "from rap_desktop.resource_files import resource_path as r; print(r(%r))"
    env = {**os.environ, "PYTHONPATH": str(built)}
    for name in names:
        found = subprocess.run(
            [sys.executable, "-c", lookup % name], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert found.returncode == 0, found.stderr
        assert Path(found.stdout.strip()) == built / "rap_desktop" / "resources" / name
