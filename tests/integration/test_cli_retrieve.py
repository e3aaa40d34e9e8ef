"""`retrieve --json` and `match ...` through the CLI on the tiny real-format detector and CLIP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rap_desktop.cli import main


@pytest.fixture
def cli(home: Path, tiny_config: Path, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _retrieve(cli, photo: Path, *extra: str) -> dict:
    code, out, err = cli("retrieve", str(photo), "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_retrieve_json_contract(cli, photos: dict[str, Path]) -> None:
    assert cli("concept", "add", "bus", str(photos["bus"]), "--category", "bus")[0] == 0
    doc = _retrieve(cli, photos["bus"], "--question", "Where is <bus>?")
    assert len(doc["photo"]) == 64
    ids = [r["id"] for r in doc["regions"]]
    assert ids == [f"r{i}" for i in range(1, len(ids) + 1)]
    for region in doc["regions"]:
        x1, y1, x2, y2 = region["box"]
        assert 0 <= x1 < x2 <= 810 and 0 <= y1 < y2 <= 1080  # bus.jpg is 810x1080
        assert {"label", "score", "matches"} <= set(region)
    whole = [r for r in doc["regions"] if r["source"] == "whole"]
    assert whole and whole[0]["matches"][0]["concept"] == "bus" and whole[0]["matches"][0]["accepted"]
    assert doc["concepts"][0] == {"name": "bus", "reason": "mention"}


def test_corrections_through_the_cli(cli, photos: dict[str, Path]) -> None:
    assert cli("concept", "add", "bus", str(photos["bus"]))[0] == 0
    doc = _retrieve(cli, photos["bus"])
    whole = next(r["id"] for r in doc["regions"] if r["source"] == "whole")
    code, out, err = cli("match", "reject", str(photos["bus"]), whole, "--json")
    assert code == 0, err
    assert json.loads(out)["action"] == "reject"
    after = _retrieve(cli, photos["bus"])
    region = next(r for r in after["regions"] if r["id"] == whole)
    assert region["matches"][0]["decision"] == "rejected"
    assert cli("match", "undo")[0] == 0
    code, _, err = cli("match", "reassign", doc["photo"], whole, "red-bus", "--category", "bus")
    assert code == 0, err
    listed = json.loads(cli("concept", "list", "--json")[1])["concepts"]
    assert {c["name"] for c in listed} == {"bus", "red-bus"}
    code, _, err = cli("match", "confirm", doc["photo"], "r999")
    assert code == 2 and "no region" in err
    code, _, err = cli("match", "confirm", "deadbeefdeadbeef", "r1")
    assert code == 2 and "no retrieved photo" in err
