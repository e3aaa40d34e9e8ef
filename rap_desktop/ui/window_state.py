"""The window's size, place and dock layout: restored at start, fitted to the screen, saved at close."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QShowEvent

FIRST_SIZE = QSize(1280, 800)  # on first start, or less: what the screen has free
ORGANISATION = "rap-desktop"  # with APPLICATION: where QSettings keeps the window state
APPLICATION = "RAP Desktop"


class WindowState:
    """Mixed into the main window: geometry, dock state and the library splitter, kept in its settings."""

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("main/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(FIRST_SIZE)
        state = self.settings.value("main/state")
        if state is not None:
            self.restoreState(state)
        splitter = self.settings.value("main/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([460, 260])
        self.fit_screen(self.screen().availableGeometry())
        if state is None:
            self._first_dock_widths()

    def _first_dock_widths(self) -> None:
        """The side panels take a share of the window, so a small screen still leaves the photo room."""
        width = self.width()
        library = min(max(width * 20 // 100, 200), 330)  # one column of names; more as the user widens it
        right = min(max(width * 30 // 100, 280), 380)
        self.resizeDocks([self.library_dock, self.retrieval_dock], [library, right], Qt.Orientation.Horizontal)

    def fit_screen(self, available: QRect) -> None:
        """Never larger than the screen's free area, frame included (a 1024x700 laptop, or a size
        remembered from a bigger screen), and placed inside it."""
        frame = self.frameGeometry().size() - self.geometry().size()  # the title bar and borders (0 until shown)
        width = min(self.width(), available.width() - frame.width())
        height = min(self.height(), available.height() - frame.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        place = self.frameGeometry()
        x = min(max(place.x(), available.left()), available.right() + 1 - place.width())
        y = min(max(place.y(), available.top()), available.bottom() + 1 - place.height())
        if (x, y) != (place.x(), place.y()):
            self.move(max(x, available.left()), max(y, available.top()))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:  # the frame is known now: fit it as well
            self._shown_once = True
            self.fit_screen(self.screen().availableGeometry())

    def _save_state(self) -> None:
        self.settings.setValue("main/geometry", self.saveGeometry())
        self.settings.setValue("main/state", self.saveState())
        self.settings.setValue("main/splitter", self.splitter.saveState())
        self.settings.sync()
