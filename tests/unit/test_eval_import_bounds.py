"""Yo'LLaVA JSONs and MyVLM captions.json go through the one bounded JSON reader: a file too big to
be what it claims is refused with a plain error before it is read, and no test set is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from rap_desktop.core.eval.data import FILE, MAX_JSON_BYTES, DatasetError
from rap_desktop.core.eval.sets import import_myvlm, import_yollava, read_yollava


def _huge(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(MAX_JSON_BYTES + 1)  # sparse: the size is real, no disk is spent
    return path


def test_a_too_big_yollava_json_is_a_clear_error(tmp_path: Path) -> None:
    path = _huge(tmp_path / "recognition.json")
    with pytest.raises(DatasetError, match=r"recognition\.json is too large to be a Yo'LLaVA evaluation JSON"):
        read_yollava(path)
    out = tmp_path / "set"
    with pytest.raises(DatasetError, match="too large"):
        import_yollava([path], out)
    assert not (out / FILE).exists()


def test_a_too_big_captions_file_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "myvlm"
    (src / "bo").mkdir(parents=True)
    for i in range(2):
        Image.new("RGB", (32, 32), (i * 90, 0, 0)).save(src / "bo" / f"{i}.jpg")
    _huge(src / "bo" / "captions.json")
    out = tmp_path / "set"
    with pytest.raises(DatasetError, match=r"captions\.json is too large to be a captions file"):
        import_myvlm(src, out)
    assert not (out / FILE).exists()


def test_missing_or_broken_files_stay_plain_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read it"):
        read_yollava(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid JSON"):
        read_yollava(bad)
