"""Test-wide set-up: no network, nothing written to the home folder, Qt offscreen."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_SANDBOX = Path(tempfile.mkdtemp(prefix="rap-tests-"))
for _var, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "YOLO_OFFLINE": "1",
    "YOLO_CONFIG_DIR": str(_SANDBOX / "yolo"),
    "MPLCONFIGDIR": str(_SANDBOX / "mpl"),
    "HF_HOME": str(_SANDBOX / "hf"),
    "XDG_CONFIG_HOME": str(_SANDBOX / "xdg-config"),
    "XDG_DATA_HOME": str(_SANDBOX / "xdg-data"),
    "XDG_CACHE_HOME": str(_SANDBOX / "xdg-cache"),
    "QT_QPA_PLATFORM": "offscreen",
    "RAP_DESKTOP_WEIGHTS_DIR": str(_SANDBOX / "weights"),  # downloads and converted checkpoints
}.items():
    os.environ[_var] = _value
os.environ.pop("RAP_DESKTOP_HOME", None)
os.environ.pop("RAP_DESKTOP_CONFIG", None)

import rap_desktop.torch_compat  # noqa: E402,F401  (before anything imports torchvision)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty data folder for one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny random-weight models in the real formats, and the config.toml that selects them."""
    from rap_desktop.devtools.tiny_models import write_all

    # devtools/mutants.py runs the tests dozens of times: it writes the models once and names them here
    reused = Path(os.environ.get("RAP_DESKTOP_TEST_TINY_MODELS") or "/nonexistent") / "config.toml"
    return reused if reused.is_file() else write_all(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def photos() -> dict[str, Path]:
    """Real photos shipped inside installed packages (never fetched)."""
    import matplotlib
    import skimage
    import ultralytics

    sk = Path(skimage.__file__).parent / "data"
    assets = Path(ultralytics.__file__).parent / "assets"
    out = {
        "astronaut": sk / "astronaut.png",
        "chelsea": sk / "chelsea.png",
        "coffee": sk / "coffee.png",
        "rocket": sk / "rocket.jpg",
        "motorcycle": sk / "motorcycle_left.png",
        "bus": assets / "bus.jpg",
        "zidane": assets / "zidane.jpg",
        "grace_hopper": Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg",
    }
    missing = [str(p) for p in out.values() if not p.is_file()]
    assert not missing, f"package photos missing: {missing}"
    return out


@pytest.fixture
def session(home: Path, tiny_config: Path):
    from rap_desktop.core.session import Session

    opened = Session.open(home, tiny_config)
    yield opened
    opened.close()


@pytest.fixture
def store(session):
    return session.store()
