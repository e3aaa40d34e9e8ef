"""A YOLO file ultralytics downloaded earlier (into its settings' weights_dir) is used, not fetched again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rap_desktop.core.models import weights
from rap_desktop.core.models.registry import Registry


@pytest.fixture
def ultralytics_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "yolo-config"))
    return tmp_path / "yolo-config" / "Ultralytics" / "settings.json"


def test_settings_file_is_where_ultralytics_keeps_it(ultralytics_config: Path) -> None:
    from rap_desktop.core.models.detector import import_ultralytics

    import_ultralytics()
    from ultralytics.utils import get_user_config_dir

    assert weights.ultralytics_settings_file() == get_user_config_dir() / "settings.json" == ultralytics_config


def test_a_yolo_file_in_ultralytics_weights_dir_is_found(ultralytics_config: Path, tmp_path: Path) -> None:
    spec = Registry().get("yolo-world-v2-s")
    empty_cache = tmp_path / "our-cache"
    assert weights.resolve(spec, empty_cache).path is None  # no ultralytics settings yet
    their_weights = tmp_path / "ultralytics-weights"
    their_weights.mkdir()
    ultralytics_config.parent.mkdir(parents=True)
    ultralytics_config.write_text(json.dumps({"settings_version": "0.0.6", "weights_dir": str(their_weights)}))
    missing = weights.resolve(spec, empty_cache)
    assert missing.path is None and any(str(their_weights) in place for place in missing.looked)
    file = their_weights / "yolov8s-worldv2.pt"
    file.write_bytes(b"PK\x03\x04")  # only looked for here, not loaded
    found = weights.resolve(spec, empty_cache)
    assert found.path == file
    assert weights.require_file(spec, empty_cache) == file
