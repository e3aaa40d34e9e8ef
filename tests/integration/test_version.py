"""`rap-desktop --version` names the app's version and the torch it runs on: a CUDA or a CPU build."""

from __future__ import annotations

import torch

from rap_desktop import __version__
from rap_desktop.cli import main


def test_version_says_the_app_and_the_torch_build(capsys) -> None:
    assert main(["--version"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"rap-desktop {__version__} (Python environment, Python ")
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"
    assert lines[1].startswith(f"torch {torch.__version__}, {build}")
    assert len(lines) == 2
