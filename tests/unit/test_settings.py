from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from rap_desktop.core.errors import ModelMissingError, RapError
from rap_desktop.core.models import weights
from rap_desktop.core.settings import load_settings


def test_missing_file_gives_defaults() -> None:
    settings = load_settings(Path("/nonexistent/config.toml"), environ={})
    assert settings.embedder == "auto"
    assert "clip-vit-l-14-336" in settings.registry()
    assert settings.registry().get("clip-vit-l-14-336").options["dim"] == 768


def test_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[models]\nembedder = "clip-vit-b-32"\n[models.paths]\n"clip-vit-b-32" = "weights/b32"\n')
    settings = load_settings(path, environ={})
    assert settings.embedder == "clip-vit-b-32"
    assert settings.registry().get("clip-vit-b-32").local_path == str(tmp_path / "weights" / "b32")
    overridden = load_settings(path, environ={"RAP_DESKTOP_EMBEDDER": "clip-vit-l-14-336"})
    assert overridden.embedder == "clip-vit-l-14-336"


def test_the_trained_template_is_the_default_and_another_is_selectable(tmp_path: Path) -> None:
    assert load_settings(None, environ={}).registry().get("rap-llava-13b").options["template"] == "vicuna_v1"
    path = tmp_path / "c.toml"
    path.write_text('[models.templates]\n"rap-llava-13b" = "llava_v1"\n')
    spec = load_settings(path, environ={}).registry().get("rap-llava-13b")
    assert spec.options["template"] == "llava_v1" and spec.options["concept_limit"] == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[models\n", "not valid TOML"),
        ('[models]\nembedder = "nope"\n', "not a known model"),
        ('[models.paths]\n"nope" = "x"\n', "unknown model"),
        ("schema = 99\n", "newer"),
        ('[models.custom.x]\nkind = "embedder"\nbackend = "open_clip"\ncolour = 3\n', "colour"),
        ('[models.templates]\n"rap-llava-13b" = "nope"\n', "unknown template"),
        ('[models.templates]\n"clip-vit-b-32" = "llava_v1"\n', "not a generator"),
    ],
)
def test_bad_settings_files_name_the_file_and_problem(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RapError, match=reason) as info:
        load_settings(path, environ={})
    assert "bad.toml" in str(info.value)


def test_missing_weights_message_names_model_places_and_command(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[models.paths]\n"clip-vit-b-32" = "{tmp_path / "absent"}"\n')
    spec = load_settings(path, environ={}).registry().get("clip-vit-b-32")
    found = weights.resolve(spec, cache_dir=tmp_path / "hub")
    assert not found.present
    with pytest.raises(ModelMissingError) as info:
        weights.require(spec, cache_dir=tmp_path / "hub")
    message = str(info.value)
    assert "clip-vit-b-32" in message
    assert str(tmp_path / "absent") in message
    assert str(tmp_path / "hub") in message
    assert "rap-desktop models fetch clip-vit-b-32" in message


def test_incomplete_local_folder_says_which_file_is_missing(tmp_path: Path) -> None:
    folder = tmp_path / "b32"
    folder.mkdir()
    (folder / "open_clip_config.json").write_text("{}")
    path = tmp_path / "c.toml"
    path.write_text(f'[models.paths]\n"clip-vit-b-32" = "{folder}"\n')
    spec = load_settings(path, environ={}).registry().get("clip-vit-b-32")
    found = weights.resolve(spec, cache_dir=tmp_path / "hub")
    assert any("missing open_clip_model.safetensors" in place for place in found.looked)


def test_hub_cache_layout_is_found(tmp_path: Path) -> None:
    # The hub cache's real layout: models--org--name/refs/main + snapshots/<rev>/files
    spec = load_settings(None, environ={}).registry().get("clip-vit-b-32")
    repo = tmp_path / ("models--" + spec.hub_repo.replace("/", "--"))
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    for name in spec.files:
        (snapshot / name).write_bytes(b"x")
    found = weights.resolve(spec, cache_dir=tmp_path)
    assert found.present and found.path == snapshot


def test_detector_setting_file_environment_and_kind(tmp_path: Path) -> None:
    assert load_settings(None, environ={}).detector == "auto"
    path = tmp_path / "c.toml"
    path.write_text('[models]\ndetector = "yolo-world-v2-x"\n[models.paths]\n"yolo-world-v2-s" = "w/s.pt"\n')
    settings = load_settings(path, environ={})
    assert settings.detector == "yolo-world-v2-x"
    assert settings.registry().get("yolo-world-v2-s").local_path == str(tmp_path / "w" / "s.pt")
    assert load_settings(path, environ={"RAP_DESKTOP_DETECTOR": "yolo-v8-s-coco"}).detector == "yolo-v8-s-coco"
    with pytest.raises(RapError, match="'nope' is not a known model"):
        load_settings(path, environ={"RAP_DESKTOP_DETECTOR": "nope"})
    with pytest.raises(RapError, match="detector 'clip-vit-b-32' is a model of kind 'embedder', not 'detector'"):
        load_settings(path, environ={"RAP_DESKTOP_DETECTOR": "clip-vit-b-32"})
    with pytest.raises(RapError, match="embedder 'yolo-world-v2-s' is a model of kind 'detector'"):
        load_settings(path, environ={"RAP_DESKTOP_EMBEDDER": "yolo-world-v2-s"})


def test_single_file_weights_local_file_then_weights_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(weights.WEIGHTS_DIR_ENV, raising=False)
    default = Path(platformdirs.user_cache_dir("rap-desktop", appauthor=False)) / "weights"
    assert weights.weights_cache_dir() == default
    spec = load_settings(None, environ={}).registry().get("yolo-world-v2-x")
    cache = tmp_path / "cache"
    missing = weights.resolve(spec.with_path(str(tmp_path / "mine.pt")), cache_dir=cache)
    assert not missing.present
    message = weights.missing_message(missing)
    assert str(tmp_path / "mine.pt") in message and f"weights cache {cache}" in message
    assert "yolov8x-worldv2.pt not downloaded" in message
    assert "rap-desktop models fetch yolo-world-v2-x (146 MB)" in message.replace("`", "")
    (tmp_path / "mine.pt").write_bytes(b"x")  # a file of any name counts for a one-file model
    assert weights.require(spec.with_path(str(tmp_path / "mine.pt")), cache_dir=cache) == tmp_path / "mine.pt"
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "yolov8x-worldv2.pt").write_bytes(b"x")  # or a folder holding the file
    assert weights.require_file(spec.with_path(str(folder)), cache_dir=cache) == folder / "yolov8x-worldv2.pt"
    cache.mkdir()
    (cache / "yolov8x-worldv2.pt").write_bytes(b"x")
    assert weights.require_file(spec, cache_dir=cache) == cache / "yolov8x-worldv2.pt"
    monkeypatch.setenv(weights.WEIGHTS_DIR_ENV, str(cache))
    assert weights.require_file(spec) == cache / "yolov8x-worldv2.pt"


def test_open_clip_folder_model_refuses_a_single_file(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"x")
    spec = load_settings(None, environ={}).registry().get("clip-vit-b-32").with_path(str(tmp_path / "model.bin"))
    found = weights.resolve(spec, cache_dir=tmp_path / "hub")
    assert not found.present and "a file; expected a folder" in found.looked[0]
