"""Help ▸ About: the app's version and what it runs on (torch, a CUDA or a CPU build), the same lines as
`rap-desktop --version`."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from rap_desktop.build_info import app_line, torch_line

BLURB = "A photo assistant that knows your own people, pets and things."


def about_text() -> str:
    return f"{BLURB}\n\n{app_line()}\n{torch_line()}"


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About RAP Desktop", about_text())
