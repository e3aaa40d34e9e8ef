"""The side panel of the photo view: who is in the photo (and whom the question asked in the
Assistant names), the regions, and for the selected region its crop beside the ranked candidates
(with their photos) and the answers to "Is this Bo?". Questions are asked in one place only, the
Assistant's chat; the panel's "Ask about this photo…" button takes the keyboard there."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QLabel,
    QListView,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rap_desktop.core import retrieval as rv

from ..library.operations import ExemplarEntry
from ..runtime.thumbnails import ThumbnailCache
from .region_items import STYLES, confidence, decision_text, recognised, region_look

THUMB = 56
CROP = 132
Index = QModelIndex | QPersistentModelIndex
RegionIdRole = Qt.ItemDataRole.UserRole + 1
CandidateRole = Qt.ItemDataRole.UserRole + 2


def swatch(colour: QColor, size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(colour)
    return QIcon(pixmap)


class RegionListModel(QAbstractListModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.regions: list[rv.RegionResult] = []
        self.everything = False
        self.threshold = 0.0

    def set_regions(self, regions: Sequence[rv.RegionResult], everything: bool = True, threshold: float = 0.0) -> None:
        """Everything: every region, with ids and scores; else the recognised ones, in words."""
        self.beginResetModel()
        self.regions = [r for r in regions if everything or recognised(r)]
        self.everything, self.threshold = everything, threshold
        self.endResetModel()

    def row_of(self, region_id: str) -> int:
        return next((i for i, r in enumerate(self.regions) if r.id == region_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.regions)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.regions):
            return None
        region = self.regions[index.row()]
        look = region_look(region)
        if role == Qt.ItemDataRole.DisplayRole:
            if not self.everything and region.accepted is not None:
                return f"{region.accepted.concept}  ({confidence(region.accepted, self.threshold)})"
            where = "whole photo" if region.source == "whole" else region.label
            return f"{region.id}  {look.label}   ({where})"
        if role == Qt.ItemDataRole.DecorationRole:
            return swatch(STYLES[look.style][0])
        if role == Qt.ItemDataRole.FontRole and look.struck:
            font = QFont()
            font.setStrikeOut(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            x1, y1, x2, y2 = region.box
            return f"{region.source} box {x1:.0f},{y1:.0f},{x2:.0f},{y2:.0f}; detector score {region.score:.2f}"
        if role == RegionIdRole:
            return region.id
        return None


class CandidateModel(QAbstractListModel):
    """A region's ranked candidates; each row's picture is the concept's photos side by side."""

    def __init__(self, thumbnails: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = thumbnails
        self.candidates: list[rv.Candidate] = []
        self.exemplars: dict[str, list[ExemplarEntry]] = {}
        self.threshold = 0.0
        self.everything = True
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_candidates(
        self,
        candidates: Sequence[rv.Candidate],
        exemplars: dict[str, list[ExemplarEntry]],
        threshold: float,
        everything: bool = True,
    ) -> None:
        self.beginResetModel()
        self.candidates, self.exemplars, self.threshold = list(candidates), exemplars, threshold
        self.everything = everything
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.candidates)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.candidates):
            return None
        c = self.candidates[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if not self.everything:
                return f"{index.row() + 1}. {c.concept}  ({confidence(c, self.threshold)})\n{decision_words(c)}"
            return f"{index.row() + 1}. {c.concept}  {c.similarity:.3f}\n{decision_text(c, self.threshold)}"
        if role == Qt.ItemDataRole.DecorationRole:
            return self._strip(self.exemplars.get(c.concept, []))
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(c.accepted)
            font.setStrikeOut(c.decision in (rv.SUPPRESSED, rv.REJECTED))
            return font
        if role == Qt.ItemDataRole.ForegroundRole and not c.accepted:
            return QPalette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)  # dim in either theme
        if role == CandidateRole:
            return c
        return None

    def _strip(self, entries: Sequence[ExemplarEntry]) -> QPixmap:
        count = max(1, len(entries))
        strip = QPixmap(count * (THUMB + 2), THUMB)
        strip.fill(Qt.GlobalColor.transparent)
        painter = QPainter(strip)
        for i, entry in enumerate(entries):
            icon = self.thumbnails.icon(entry.exemplar.image, entry.path)  # starts a load when missing
            painter.drawPixmap(i * (THUMB + 2), 0, icon.pixmap(THUMB, THUMB))
        painter.end()
        return strip

    def _thumbnail_ready(self, name: str) -> None:
        for row, c in enumerate(self.candidates):
            if any(e.exemplar.image == name for e in self.exemplars.get(c.concept, [])):
                self.dataChanged.emit(self.index(row), self.index(row), [Qt.ItemDataRole.DecorationRole])


class RetrievalPanel(QWidget):
    region_chosen = Signal(str)  # the user picked a row in the regions list
    undo_requested = Signal()  # "Undo" in the note that says what an answer did

    def __init__(self, thumbnails: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ask_button = QToolButton()  # "Ask about this photo…": the Assistant's chat box, given its action later
        self.ask_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.ask_button.hide()
        self.everything_button = QToolButton()  # "Show everything it found (N)", given its action later
        self.everything_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.named: list[str] = []
        self.missing: list[str] = []
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.mentions = QLabel()
        self.mentions.setWordWrap(True)
        self.mentions.setTextFormat(Qt.TextFormat.PlainText)

        self.regions = RegionListModel(self)
        self.region_list = QListView()
        self.region_list.setModel(self.regions)
        self.region_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.region_list.setUniformItemSizes(True)
        self.region_list.selectionModel().currentChanged.connect(self._row_changed)

        self.crop = QLabel()
        self.crop.setFixedSize(CROP, CROP)
        self.crop.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.crop.setFrameShape(QLabel.Shape.StyledPanel)
        self.region_title = QLabel()
        self.region_title.setWordWrap(True)
        self.region_title.setTextFormat(Qt.TextFormat.PlainText)
        self.candidates = CandidateModel(thumbnails, self)
        self.candidate_list = QListView()
        self.candidate_list.setModel(self.candidates)
        self.candidate_list.setIconSize(QSize(THUMB * 4 + 8, THUMB))
        self.candidate_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.candidate_list.setWordWrap(True)
        self.candidate_list.setSpacing(2)

        # the question about the selected box ("Is this Bo?"), its answers, and what an answer did
        self.ask = QLabel()
        self.ask.setTextFormat(Qt.TextFormat.PlainText)
        self.ask.setWordWrap(True)
        font = QFont(self.ask.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.ask.setFont(font)
        self.buttons = QGridLayout()  # two by two: the panel stays narrow on small screens
        self.buttons.setSpacing(4)
        self.answer_buttons: list[QToolButton] = []
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.note.linkActivated.connect(lambda _link: self.undo_requested.emit())
        self.note.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.ask_button)
        layout.addWidget(self.mentions)
        layout.addWidget(self.summary)
        layout.addWidget(self.everything_button)
        layout.addWidget(_heading("Regions"))
        layout.addWidget(self.region_list, 2)
        layout.addWidget(_heading("Selected region"))
        grid = QGridLayout()
        grid.addWidget(self.crop, 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.region_title, 0, 1, Qt.AlignmentFlag.AlignTop)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        layout.addWidget(self.ask)
        layout.addLayout(self.buttons)
        layout.addWidget(self.note)
        layout.addWidget(_heading("Candidates, best first (the matched photo leads each row)"))
        layout.addWidget(self.candidate_list, 3)
        self.clear()

    def show_everything(self, action: QAction) -> None:
        self.everything_button.setDefaultAction(action)

    def show_ask(self, action: QAction) -> None:
        """The way to the one question box (the Assistant's), from beside the photo."""
        self.ask_button.setDefaultAction(action)
        self.ask_button.show()

    def add_actions(self, actions: Sequence[QAction]) -> None:
        for i, action in enumerate(actions):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.buttons.addWidget(button, i // 2, i % 2)
            self.answer_buttons.append(button)

    def say(self, text: str, undo: bool = False) -> None:
        """What an answer did, where it was given; with an Undo link while it can be undone."""
        shown = html.escape(text, quote=False) + (' — <a href="undo">Undo</a>' if undo else "")
        self.note.setText(shown)
        self.note.setVisible(bool(text))

    def clear(self) -> None:
        self.summary.setText("Open a photo (Ctrl+O) or drop one on the photo view to see who and what is in it.")
        self.mentions.hide()
        self.regions.set_regions([])
        self.show_region(None, None, {}, 0.0)

    def show_result(
        self, result: rv.RetrievalResult, mentioned: Sequence[str], missing: Sequence[str], everything: bool = True
    ) -> None:
        self.named, self.missing = list(mentioned), list(missing)
        current = self.current_region()
        self.regions.set_regions(result.regions, everything, result.threshold)
        self.select(current)
        if not everything:
            self._quiet_summary(result, mentioned, missing)
            return
        named = sum(1 for r in result.regions if r.accepted)
        chosen = ", ".join(
            f"{c.name} ({'named in the question' if c.reason == 'mention' else f'{c.region}, {c.similarity:.2f}'})"
            for c in result.concepts
        )
        self.summary.setText(
            f"{len(result.regions)} regions, {named} recognised (threshold {result.threshold:.2f}).\n"
            f"For the assistant: {chosen or 'no concept'}."
        )
        words = [f"{n} ✓" for n in mentioned] + [f"{n} (not remembered)" for n in missing]
        self.mentions.setText("Named in the question: " + ", ".join(words) if words else "")
        self.mentions.setVisible(bool(words))

    def _quiet_summary(self, result: rv.RetrievalResult, mentioned: Sequence[str], missing: Sequence[str]) -> None:
        names = [r.accepted.concept for r in result.regions if r.accepted is not None]
        self.summary.setText(f"In this photo: {', '.join(names)}." if names else "No one it knows in this photo yet.")
        words = list(mentioned) + [f"{n} (not remembered yet)" for n in missing]
        self.mentions.setText("Your question names " + ", ".join(words) + "." if words else "")
        self.mentions.setVisible(bool(words))

    def current_region(self) -> str:
        index = self.region_list.currentIndex()
        return str(index.data(RegionIdRole)) if index.isValid() else ""

    def select(self, region_id: str) -> None:
        row = self.regions.row_of(region_id) if region_id else -1
        selection = self.region_list.selectionModel()
        selection.blockSignals(True)
        if row < 0:
            self.region_list.clearSelection()
            self.region_list.setCurrentIndex(QModelIndex())
        else:
            self.region_list.setCurrentIndex(self.regions.index(row))
            self.region_list.scrollTo(self.regions.index(row))
        selection.blockSignals(False)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.region_chosen.emit(str(current.data(RegionIdRole)) if current.isValid() else "")

    def show_region(
        self,
        region: rv.RegionResult | None,
        crop: QPixmap | None,
        exemplars: dict[str, list[ExemplarEntry]],
        threshold: float,
        everything: bool = True,
    ) -> None:
        self.ask.setText(question_for(region))
        self.ask.setVisible(region is not None)
        for button in self.answer_buttons:
            button.setVisible(region is not None)
        if region is None:
            self.crop.clear()
            self.crop.setText("nothing\nselected")
            self.region_title.setText("Pick a box on the photo, or draw one (B) around something it missed.")
            self.candidates.set_candidates([], {}, threshold, everything)
            return
        if crop is not None and not crop.isNull():
            self.crop.setPixmap(
                crop.scaled(CROP, CROP, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
        self.candidates.set_candidates(region.candidates, exemplars, threshold, everything)
        if not everything:
            self.region_title.setText(_quiet_title(region, threshold))
            return
        look = region_look(region)
        source = {"whole": "the whole photo", "user": "drawn by you"}.get(
            region.source, f"detected as {region.label} ({region.score:.2f})"
        )
        self.region_title.setText(
            f"{region.id}: {look.label}\n{source}\n"
            + (f"{len(region.candidates)} candidate(s)" if region.candidates else "No concept looks like it yet.")
        )

    def selected_candidate(self) -> rv.Candidate | None:
        index = self.candidate_list.currentIndex()
        chosen = self.candidate_list.selectionModel().selectedIndexes()
        return index.data(CandidateRole) if index.isValid() and chosen else None


def question_for(region: rv.RegionResult | None) -> str:
    """What the panel asks about the selected box."""
    if region is None:
        return ""
    accepted = region.accepted
    if accepted is None:
        return "Who or what is this?"
    if accepted.decision == rv.CONFIRMED:
        return f"This is {accepted.concept} (you said so). Still right?"
    return f"Is this {accepted.concept}?"


def _quiet_title(region: rv.RegionResult, threshold: float) -> str:
    accepted = region.accepted
    if accepted is None:
        return "It does not know who or what this is yet."
    if accepted.decision == rv.CONFIRMED:
        return f"{accepted.concept} (you said so)"
    return f"{accepted.concept} ({confidence(accepted, threshold)})"


def decision_words(candidate: rv.Candidate) -> str:
    """The decision for a person: no thresholds or scores."""
    return {
        rv.ACCEPTED: "shown on the photo",
        rv.CONFIRMED: "you said so",
        rv.BELOW: "not alike enough to say",
        rv.SUPPRESSED: "looks like a photo you said was not them",
        rv.REJECTED: "you said no",
        rv.TAKEN: "shown on another box, more alike",
        rv.LOWER: "another name fits this box better",
    }.get(candidate.decision, candidate.decision)


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)  # never the panel's minimum width
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label
