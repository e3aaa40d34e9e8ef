"""What this copy of the app is: its version, the torch it carries (a CUDA or a CPU build) and whether it
runs as the frozen bundle (installers/build-bundle.sh) or from a Python environment.
`rap-desktop --version` and the window's Help ▸ About both say it. No Qt here."""

from __future__ import annotations

import platform
import sys

from . import __version__


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def torch_line() -> str:
    """Says "torch 2.13.0+cpu, CPU build" or "torch 2.13.0+cu128, CUDA 12.8 build (GPU: NVIDIA ...)"."""
    try:
        import torch
    except ImportError as exc:  # a broken environment still answers --version
        return f"torch: not importable ({exc})"
    cuda = torch.version.cuda
    if not cuda:
        return f"torch {torch.__version__}, CPU build"
    # a CUDA build says whether it can use a GPU here, too: the bundle carries CUDA either way
    gpu = f"GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no usable GPU found"
    return f"torch {torch.__version__}, CUDA {cuda} build ({gpu})"


def app_line() -> str:
    how = "bundle" if frozen() else "Python environment"
    return f"rap-desktop {__version__} ({how}, Python {platform.python_version()})"


def version_text() -> str:
    return f"{app_line()}\n{torch_line()}"
