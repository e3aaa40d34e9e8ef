"""The command line contract: commands, --json, exit codes, --home/--config and env overrides."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rap_desktop.cli import main
from tests.unit.test_rap_import import make_reference_db


@pytest.fixture
def cli(home: Path, tiny_config: Path, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_concept_lifecycle(cli, photos: dict[str, Path]) -> None:
    code, out, err = cli(
        "concept", "add", "<bo>", str(photos["chelsea"]), "--info", "<bo> is a cat.", "--category", "cat", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["concept"]["name"] == "bo"
    assert cli("concept", "add-image", "BO", str(photos["coffee"]), "--box", "0,0,100,100")[0] == 0
    code, out, _ = cli("concept", "list", "--json")
    (listed,) = json.loads(out)["concepts"]
    assert (listed["name"], listed["info"], listed["category"], listed["exemplars"]) == (
        "bo",
        "<bo> is a cat.",
        "cat",
        2,
    )
    assert cli("concept", "edit", "bo", "--rename", "Mochi")[0] == 0
    code, out, _ = cli("concept", "list")
    assert "<Mochi>" in out and "<Mochi> is a cat." in out
    assert cli("concept", "remove", "mochi")[0] == 0
    assert json.loads(cli("concept", "list", "--json")[1])["concepts"] == []


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("concept", "remove", "ghost"), "no concept named <ghost>"),
        (("concept", "add", "a/b", "{img}"), "slash"),
        (("concept", "add", "x", "/nonexistent.jpg"), "nonexistent.jpg"),
        (("concept", "edit", "x"), "nothing to change"),
        (("import-rap", "/nonexistent"), "not a folder"),
        (("import", "/nonexistent.zip"), "nonexistent.zip"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, photos, args, reason: str) -> None:
    args = tuple(a.replace("{img}", str(photos["chelsea"])) for a in args)
    code, out, err = cli(*args)
    assert code == 2
    assert reason in err and len(err.strip().splitlines()) == 1
    assert out == ""


def test_bad_usage_exits_2(cli) -> None:
    assert cli("concept", "frobnicate")[0] == 2
    assert cli("concept", "add", "x", "y.png", "--box", "1,2,3")[0] == 2


def test_duplicate_exits_2(cli, photos) -> None:
    assert cli("concept", "add", "bo", str(photos["chelsea"]))[0] == 0
    code, _, err = cli("concept", "add", "Bo", str(photos["coffee"]))
    assert code == 2 and "already exists" in err


def test_import_rap_export_import(cli, tmp_path: Path, photos, tiny_config: Path) -> None:
    folder = make_reference_db(tmp_path / "db", photos)
    code, out, err = cli("import-rap", str(folder), "--json")
    assert code == 0, err
    assert sorted(json.loads(out)["imported"]) == ["astro", "bo", "cat-cup"]
    assert cli("export", str(tmp_path / "b.zip"))[0] == 0
    other = tmp_path / "other-home"
    code = main(["--home", str(other), "--config", str(tiny_config), "import", str(tmp_path / "b.zip")])
    assert code == 0
    assert cli("check")[0] == 0


def test_models_list_says_where_it_looked(cli) -> None:
    code, out, _ = cli("models", "list", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)["models"]}
    assert rows["tiny-clip"]["present"] and rows["tiny-clip"]["selected"]
    assert not rows["clip-vit-l-14-336"]["present"]
    assert any("Hugging Face cache" in place for place in rows["clip-vit-l-14-336"]["looked"])


def test_fetch_offline_fails_cleanly(cli) -> None:
    code, _, err = cli("models", "fetch", "clip-vit-b-32")
    assert code == 2 and "could not download" in err


@pytest.mark.slow
def test_console_script_env_overrides_and_clean_stdout(home: Path, tiny_config: Path, photos) -> None:
    env = {**os.environ, "RAP_DESKTOP_HOME": str(home), "RAP_DESKTOP_CONFIG": str(tiny_config)}
    exe = Path(sys.executable).with_name("rap-desktop")
    added = subprocess.run(
        [exe, "concept", "add", "bo", photos["chelsea"], "--json"], env=env, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    json.loads(added.stdout)  # stdout is exactly one JSON document
    listed = subprocess.run([exe, "--json", "concept", "list"], env=env, capture_output=True, text=True)
    assert [c["name"] for c in json.loads(listed.stdout)["concepts"]] == ["bo"]
    assert (home / "store.sqlite3").exists()
    broken = subprocess.run(
        [exe, "concept", "list"],
        env={**env, "RAP_DESKTOP_CONFIG": str(photos["chelsea"])},
        capture_output=True,
        text=True,
    )
    assert broken.returncode == 2 and "not valid TOML" in broken.stderr
