"""Which torch device and dtype to run on: CUDA with fp16 when present, else CPU with fp32."""

from __future__ import annotations

from ..errors import RapError


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_device(choice: str = "auto") -> str:
    choice = (choice or "auto").strip().lower()
    if choice == "auto":
        return "cuda" if cuda_available() else "cpu"
    if choice.startswith("cuda"):
        if not cuda_available():
            raise RapError(f"device {choice!r} was asked for, but no CUDA GPU is usable here; use 'cpu'")
        return choice
    if choice == "cpu":
        return choice
    raise RapError(f"unknown device {choice!r}; use auto, cpu, cuda or cuda:N")


def dtype_for(device: str):
    import torch

    return torch.float16 if device.startswith("cuda") else torch.float32
