"""Downloads: refused up front when the disk cannot hold them (one plain line: how much, where, what is
free, what to do), and only the files that are used are fetched."""

from __future__ import annotations

from pathlib import Path

import pytest

from rap_desktop.core.models import weights
from rap_desktop.core.models.disk import DiskSpaceError, free_bytes
from rap_desktop.core.models.registry import Registry

HUGE_MB = 10**12  # an exabyte: no test machine has it free


def _huge(spec):
    from dataclasses import replace

    return replace(spec, size_mb=HUGE_MB)


@pytest.mark.parametrize("name", ["yolo-world-v2-s", "rap-llava-13b"])
def test_a_download_that_cannot_fit_is_refused_before_any_network(tmp_path: Path, name: str) -> None:
    spec = _huge(Registry().get(name))

    def no_listing(_repo: str) -> list[str]:
        raise AssertionError("the hub must not be asked before the space check")

    with pytest.raises(DiskSpaceError) as refused:
        weights.fetch(spec, cache_dir=tmp_path / "cache", list_files=no_listing)
    message = str(refused.value)
    assert f"downloading {spec.name}" in message and str(tmp_path / "cache") in message
    assert "GB is free there" in message and free_bytes(tmp_path) < HUGE_MB * 1e6
    assert ("HF_HOME" if spec.hub_repo else "RAP_DESKTOP_WEIGHTS_DIR") in message and "\n" not in message
    assert not (tmp_path / "cache").exists()


def test_cli_models_fetch_refuses_with_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text(
        '[models.custom.big-yolo]\nkind = "detector"\nbackend = "ultralytics"\n'
        f'download_url = "https://example.invalid/big.pt"\nfiles = ["big.pt"]\nsize_mb = {HUGE_MB}\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "rap_desktop", "--config", str(config), "models", "fetch", "big-yolo"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("rap-desktop: not enough free disk space for downloading big-yolo")


def test_only_one_weight_format_is_downloaded() -> None:
    spec = Registry().get("rap-llava-13b")
    both = ["config.json", "tokenizer.model", "model-00001-of-00002.safetensors", "pytorch_model-00001-of-00002.bin"]
    patterns = weights.download_patterns(spec, lambda _repo: both)
    assert "*.safetensors" in patterns and "pytorch_model*.bin" not in patterns
    assert "*.json" in patterns and "tokenizer.model" in patterns
    bin_only = weights.download_patterns(spec, lambda _repo: ["config.json", "pytorch_model.bin"])
    assert "pytorch_model*.bin" in bin_only and "*.safetensors" not in bin_only

    def offline(_repo: str) -> list[str]:
        raise OSError("offline")

    assert weights.download_patterns(spec, offline) == list(spec.options["download_patterns"])
