"""The window's centre: the Photo and Album tabs (Ctrl+1 / Ctrl+2). F5 belongs to the tab on show:
Retrieve again on the photo, Re-index on the album (Qt fires neither of two equal shortcuts).
A tab on show has the keyboard: the photo, or the album's grid (unless the tab bar itself has it,
where the arrow keys walk the tabs)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QTabWidget, QWidget

from .runtime.actions import make_action

F5 = QKeySequence("F5")


class CentreTabs(QTabWidget):
    def __init__(self, photo: QWidget, album: QWidget, photo_f5: QAction, album_f5: QAction) -> None:
        super().__init__()
        self.setDocumentMode(True)
        self.addTab(photo, "&Photo")
        self.addTab(album, "&Album")
        self.photo_page, self.album_page = photo, album
        self._f5 = (photo_f5, album_f5)
        self.tab_actions = (  # the window's View menu
            make_action(self, "&Photo", self.show_photo, "Ctrl+1"),
            make_action(self, "&Album", self.show_album, "Ctrl+2"),
        )
        self.currentChanged.connect(self._tab_changed)
        self._tab_changed(0)

    def show_photo(self) -> None:
        self.setCurrentWidget(self.photo_page)
        self.focus_page()

    def show_album(self) -> None:
        self.setCurrentWidget(self.album_page)
        self.focus_page()

    def focus_page(self) -> None:
        """The page's own choice where it has one (the album: its grid, or its search when empty)."""
        self.currentWidget().setFocus(Qt.FocusReason.OtherFocusReason)

    def _tab_changed(self, _row: int) -> None:
        if not self.tabBar().hasFocus():
            self.focus_page()
        on_album = self.currentWidget() is self.album_page
        photo_f5, album_f5 = self._f5
        photo_f5.setShortcut(QKeySequence() if on_album else F5)
        album_f5.setShortcut(F5 if on_album else QKeySequence())
