"""The album search row's choices beyond the concept box and the description: more people, pets or
things ("and…"), how they combine ("together" or "only them"), the count of the photos shown,
"Show N more" (the next photos below the relevance cut) and how the results are ordered ("By date",
the timeline's look, or "Best matches first"; remembered). The page places the widgets and asks
`args()` what to search for; it never reads the menu itself."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QComboBox, QMenu, QPushButton, QToolButton, QWidget

from rap_desktop.core.album.search import MORE, ONLY, TOGETHER

from .album_ops import Listing
from .result_order import BEST_FIRST, BY_DATE, ORDERS

AND = "and… ▾"
ORDER_KEY = "album/search_order"  # QSettings: how search results are ordered
LONGEST = 32  # letters of a description quoted in the count: the row fits a 1024-px window


def names_text(names: tuple[str, ...] | list[str]) -> str:
    """ "Mia", "Mia and Bo", "Mia, Bo and Max" """
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def shortened(text: str, most: int = LONGEST) -> str:
    """A long description cut at a word with "…" (the search box above shows it whole)."""
    if len(text) <= most:
        return text
    cut = text[: most + 1]  # a word that ends at `most` letters is kept whole
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut[:most]).rstrip(" ,.;") + "…"


def count_text(listing: Listing) -> str:
    """What the grid shows, counted exactly: "12 photos like “a cat” with only Mia and Bo"."""
    count = len(listing.photos)
    text = f"{count:,} photo" + ("" if count == 1 else "s")
    if listing.text:
        text += f" like “{shortened(listing.text)}”"
    if listing.concepts:
        text += " with " + ("only " if listing.how == ONLY else "") + names_text(listing.concepts)
    return text


class SearchOptions(QObject):
    changed = Signal()  # the concepts or how they combine changed: a new search, from the top
    more_requested = Signal()  # "Show N more": the same search with more photos below the cut
    order_changed = Signal()  # "By date" / "Best matches first": the same photos, ordered again

    def __init__(self, parent: QWidget, settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.extra: list[str] = []  # concepts chosen besides the concept box's
        self.more = 0  # photos below the cut the user asked to see
        self.first: str | None = None  # the concept box's choice
        self.menu = QMenu(parent)
        self.also_button = QToolButton(parent)
        self.also_button.setText(AND)
        self.also_button.setMenu(self.menu)
        self.also_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.also_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")  # "▾" is in the text
        self.also_button.setToolTip("Add more people, pets or things to look for")
        self.how_box = QComboBox(parent)
        self.how_box.addItem("together", TOGETHER)
        self.how_box.addItem("only them", ONLY)
        self.how_box.setToolTip(
            "together: photos where every one of them is found\n"
            "only them: photos with exactly them and no one else you have named"
        )
        self.how_box.currentIndexChanged.connect(lambda _row: self.changed.emit())
        self.more_button = QPushButton(parent)
        self.more_button.setFlat(True)
        self.more_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.more_button.setStyleSheet("QPushButton { color: palette(link); text-decoration: underline; }")
        self.more_button.clicked.connect(self._show_more)
        self.more_button.hide()
        # a button that says the order now (as short as the row at 1024 px wide allows), a menu to change it
        self.order_box = QToolButton(parent)
        self.order_box.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.order_box.setStyleSheet("QToolButton::menu-indicator { image: none; }")  # "▾" is in the text
        self.order_box.setToolTip(
            "By date: the photos found under their days, newest first, as in the whole album\n"
            "Best matches first: the photos that look most like it first"
        )
        self.order_menu = QMenu(parent)
        self.order_group = QActionGroup(self)
        for text, order in (("By date", BY_DATE), ("Best matches first", BEST_FIRST)):
            action = self.order_menu.addAction(text)
            action.setData(order)
            action.setCheckable(True)
            self.order_group.addAction(action)
        saved = str(settings.value(ORDER_KEY, BY_DATE)) if settings is not None else BY_DATE
        self.order_action(saved if saved in ORDERS else BY_DATE).setChecked(True)
        self.order_box.setText(self._order_text())
        self.order_group.triggered.connect(self._order_chosen)
        self.order_box.setMenu(self.order_menu)
        self.order_box.hide()  # shown with search results
        self._names: list[str] = []
        self.follow(None)

    # --- what to search for ----------------------------------------------------------------------

    def how(self) -> str:
        return self.how_box.currentData()

    def order(self) -> str:
        checked = self.order_group.checkedAction()
        return checked.data() if checked is not None else BY_DATE

    def order_action(self, order: str) -> QAction:
        return next(a for a in self.order_group.actions() if a.data() == order)

    def args(self) -> tuple[tuple[str, ...], str, int, str]:
        """(the other concepts, how they combine, photos below the cut, the order) for AlbumQueries.search."""
        return tuple(self.extra), self.how(), self.more, self.order()

    def new_search(self) -> None:
        """The query changed: the results start again at the cut."""
        self.more = 0

    # --- the choices -----------------------------------------------------------------------------

    def set_names(self, names: list[str]) -> None:
        """Every concept's name (after each refresh of the library); chosen ones that are gone go."""
        self._names = sorted(names, key=str.casefold)
        self.extra = [n for n in self.extra if n in self._names]
        self._rebuild()

    def follow(self, first: str | None) -> None:
        """The concept box chose `first` (None: all photos): "and…" and "together/only" follow it."""
        self.first = first
        if first is None:  # all photos: a later choice starts again with one concept, together
            self.extra = []
            self.how_box.blockSignals(True)
            self.how_box.setCurrentIndex(0)
            self.how_box.blockSignals(False)
        elif first in self.extra:
            self.extra.remove(first)
        self.also_button.setVisible(first is not None)
        self.how_box.setVisible(first is not None)
        self._rebuild()

    def action_for(self, name: str) -> QAction | None:
        return next((a for a in self.menu.actions() if a.data() == name), None)

    def _rebuild(self) -> None:
        self.menu.clear()
        for name in self._names:
            if name == self.first:
                continue
            action = self.menu.addAction(name)
            action.setData(name)
            action.setCheckable(True)
            action.setChecked(name in self.extra)
            action.toggled.connect(lambda on, name=name: self._toggle(name, on))
        self.also_button.setText(self._also_text())

    def _toggle(self, name: str, on: bool) -> None:
        if on and name not in self.extra:
            self.extra.append(name)
        elif not on and name in self.extra:
            self.extra.remove(name)
        self.also_button.setText(self._also_text())
        self.changed.emit()

    def _also_text(self) -> str:
        return f"and {names_text(self.extra)} ▾" if self.extra else AND

    # --- show more -------------------------------------------------------------------------------

    def show_listing(self, listing: Listing) -> None:
        """ "Show 24 more" while photos below the cut are left, with how many in all."""
        if listing.more > 0:
            self.more_button.setText(f"Show {min(MORE, listing.more):,} more")
            self.more_button.setToolTip(f"{listing.more:,} more photos look less like it")
        self.more_button.setVisible(listing.more > 0)
        self.order_box.setVisible(bool(listing.text or listing.concepts))  # the whole album: always by date

    def _show_more(self) -> None:
        self.more += MORE
        self.more_requested.emit()

    # --- the order -------------------------------------------------------------------------------

    def _order_text(self) -> str:
        return f"{self.order_group.checkedAction().text()} ▾"

    def _order_chosen(self, _action: QAction) -> None:
        self.order_box.setText(self._order_text())
        if self.settings is not None:
            self.settings.setValue(ORDER_KEY, self.order())
        self.order_changed.emit()
