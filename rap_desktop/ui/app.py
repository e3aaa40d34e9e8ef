"""Start the desktop app: `run()` builds the QApplication, opens the session and shows the window."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import rap_desktop.torch_compat  # noqa: F401  (first: before anything can import torchvision)
from rap_desktop.core.errors import RapError
from rap_desktop.core.session import Session

EXIT_USER_ERROR = 2  # the CLI's status for a RapError, too


def run(argv: Sequence[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from . import shown_check
    from .main_window import APPLICATION, ORGANISATION, MainWindow
    from .runtime.app_icon import app_icon
    from .runtime.tasks import TaskRunner

    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setOrganizationName(ORGANISATION)
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("rap-desktop")  # resources/rap-desktop.desktop: the launcher shows this window
    try:
        # settings only: the store opens on the store lane, its failure arrives as fatal_error
        session = Session.open()  # RAP_DESKTOP_HOME / RAP_DESKTOP_CONFIG are read there
    except RapError as exc:
        _fatal(str(exc))
        return EXIT_USER_ERROR

    runner = TaskRunner()
    window = MainWindow(session, runner)
    failed: list[str] = []

    def on_fatal(message: str) -> None:  # e.g. a damaged store: say why, then leave with status 2
        failed.append(message)
        _fatal(message)
        window.close()

    window.fatal_error.connect(on_fatal)
    shown_check.watch(window, window.concepts_loaded, app)  # RAP_DESKTOP_WHEN_SHOWN (the bundle's test)
    window.show()
    try:
        code = app.exec()
    finally:
        runner.shutdown()  # the window did this already on close; a second call is harmless
        session.close()
    return EXIT_USER_ERROR if failed else code


def _fatal(message: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Critical, "RAP Desktop cannot start", message)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()


def main() -> None:
    sys.exit(run())
