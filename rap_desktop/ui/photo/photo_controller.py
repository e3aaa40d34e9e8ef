"""See and correct retrieval: a photo is decoded (io lane), retrieved (store lane) and drawn; the
region actions push undoable corrections. The widgets are `view` (the photo) and `panel`.

The question about the photo is asked in the Assistant's chat (the window's one question box); the
window hands it here (`ask`) so the names it mentions are starred on the photo and listed."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from rap_desktop.core.errors import ModelMissingError
from rap_desktop.core.images import LoadedImage
from rap_desktop.core.mentions import mentioned
from rap_desktop.core.photo_context import PhotoContext
from rap_desktop.core.retrieval import RegionResult

from ..context import AppContext
from ..library import operations as ops
from ..library.concept_picker import ConceptPicker
from ..library.register_dialog import RegisterDialog
from ..plain_words import readable
from ..runtime.actions import make_action
from ..runtime.tasks import message
from . import answers, photo_display, photo_ops
from .answers import Answer
from .photo_view import PhotoView
from .region_items import RegionItem, recognised, region_look
from .retrieval_panel import RetrievalPanel
from .undo_commands import CorrectionCommand

_TAGS = re.compile(r"<([^<>\s][^<>]*)>")
MODELS_MISSING = (
    "The models that find people and things in photos are not on this computer yet. "
    "Assistant ▸ Models… downloads them, or takes a folder that already holds them."
)


class PhotoController(QObject):
    shown = Signal()  # a retrieval result is drawn (tests wait on it)
    photo_opened = Signal(object)  # the Path now on view (the chat asks about it)
    photo_retrieved = Signal(object)  # PhotoContext: the photo on view, decoded and retrieved (the chat reuses both)
    models_used = Signal()  # a retrieval ran the models: the window's model label looks again

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        """`parent`: the window, the parent of the actions, dialogs and menus."""
        super().__init__(parent)
        self.ctx, self.parent_widget = ctx, parent
        self.view = PhotoView()
        self.panel = RetrievalPanel(ctx.thumbnails)
        self.path: Path | None = None
        self.loaded: LoadedImage | None = None
        self.pixmap: QPixmap | None = None
        self.current: photo_ops.PhotoResult | None = None
        self.dialog: ConceptPicker | RegisterDialog | None = None  # the picker or new-concept dialog now open
        self._generation = 0  # bumped per photo: late answers about an older photo are dropped
        self._hovered = ""
        self._tile_busy = False
        self._tile_next: tuple[QRectF, float] | None = None
        self._named: set[str] = set()  # concepts named in the question (casefolded): starred
        self.question = ""  # the last question asked in the Assistant about the photo on view
        self._build_actions()
        self.view.region_selected.connect(self._view_selected)
        self.view.region_hovered.connect(self._hovered_changed)
        self.view.photo_dropped.connect(self.open_paths)
        self.view.concept_dropped.connect(self.assign_dropped)
        self.view.box_drawn.connect(self.add_box)
        self.view.context_requested.connect(self._context_menu)
        self.view.detail_wanted.connect(self._want_tile)
        self.panel.region_chosen.connect(self._panel_selected)
        self.panel.undo_requested.connect(self._undo_answer)
        self.pending: Answer | None = None  # the last answer given here, until its result is drawn
        self.shown_answer: Answer | None = None  # the answer the panel's note speaks of
        self.panel.candidate_list.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self._update_actions()

    # --- actions -------------------------------------------------------------------------------

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = make_action(self.parent_widget, text, slot, shortcut)
        if tip:
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({keys})" if keys else tip)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.open_action = self._action("&Open photo…", self.open_dialog, key.Open, "See who and what is in a photo")
        self.fit_action = self._action("&Fit to window", self.view.fit, "Ctrl+0")
        self.zoom_in_action = self._action("Zoom &in", self.view.zoom_in, key.ZoomIn)
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.zoom_out_action = self._action("Zoom &out", self.view.zoom_out, key.ZoomOut)
        self.zoom_out_action.setShortcuts([QKeySequence("Ctrl+-")])
        self.draw_action = self._action("&Draw a box", lambda: None, "B", "Draw a box around something it missed")
        self.draw_action.setCheckable(True)
        self.draw_action.toggled.connect(self.view.set_drawing)
        # the answers to "Is this Bo?": Y / N / S (the older C / X / R / M still work)
        self.confirm_action = self._action("&Yes", self.confirm, "Y", "Yes, this is who or what it says")
        self.reject_action = self._action("&No", self.reject, "N", "No, this is not who or what it says")
        self.reassign_action = self._action("&Someone else…", self.reassign, "S", "It is someone or something you have")
        self.new_action = self._action("New person or &thing…", self.new_concept, "M", "Remember what is in the box")
        for action, older in ((self.confirm_action, "C"), (self.reject_action, "X"), (self.reassign_action, "R")):
            action.setShortcuts([*action.shortcuts(), QKeySequence(older)])
        self.rerun_action = self._action("Retrieve &again", self.retrieve, "F5")
        self.everything_action = self._action(
            "Show &everything it found", lambda: None, "E", "Also the boxes it does not recognise, with their scores"
        )
        self.everything_action.setCheckable(True)
        self.everything_action.toggled.connect(self._everything_toggled)
        self.panel.show_everything(self.everything_action)
        self.region_actions = [self.confirm_action, self.reject_action, self.reassign_action, self.new_action]
        self.panel.add_actions(self.region_actions)
        # bare letters act only where the photo or its regions have focus: typed into the search or
        # chat box, or as type-ahead in the concept list, they stay letters
        for action in [self.draw_action, self.everything_action, *self.region_actions]:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.view.addAction(action)
            self.panel.addAction(action)

    def _update_actions(self) -> None:
        region = self.selected()
        has_photo = self.loaded is not None
        named = region is not None and (region.accepted is not None or self.panel.selected_candidate() is not None)
        self.confirm_action.setEnabled(named)
        self.reject_action.setEnabled(named)
        self.reassign_action.setEnabled(region is not None and self.ctx.concepts.rowCount() > 0)
        self.new_action.setEnabled(region is not None)
        for action in (self.draw_action, self.fit_action, self.zoom_in_action, self.zoom_out_action, self.rerun_action):
            action.setEnabled(has_photo)

    # --- opening and retrieving ----------------------------------------------------------------

    def open_dialog(self) -> None:
        folder = self.ctx.last_folder()
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, "Open photo", folder, ops.IMAGE_FILTER)
        if path:
            self.ctx.remember_folder(path)
            self.open_path(Path(path))

    def open_paths(self, paths: list[Path]) -> None:
        """Dropped files or folders: the first photo among them is opened."""
        self.ctx.runner.submit(
            ops.expand_paths, list(paths), lane="io", on_done=lambda found: found and self.open_path(found[0])
        )

    def open_path(self, path: Path) -> None:
        self._generation += 1
        self.question = ""  # another photo: the chat starts a new conversation as well
        generation = self._generation
        self.ctx.status.notify(f"Opening {path.name}…")
        self._tile_next = None
        # a screen-sized preview already in the screen's pixel format (the GUI thread only copies it);
        # zoomed in past it, the view asks for sharper tiles
        side = photo_display.preview_side(self.view.screen())
        self.ctx.runner.submit(
            photo_display.load_for_display,
            path,
            side,
            lane="io",
            on_done=lambda r: self._decoded(generation, path, *r),
        )

    def _decoded(self, generation: int, path: Path, loaded: LoadedImage, image: QImage) -> None:
        if generation != self._generation:
            return
        self.path, self.loaded, self.current = path, loaded, None
        self.view.set_photo(image, loaded.size)
        self.pixmap = self.view.photo.pixmap() if self.view.photo is not None else None  # one conversion
        self.panel.clear()
        self.panel.summary.setText(f"{path.name}: looking for regions and concepts…")
        self.photo_opened.emit(path)
        self._update_actions()
        self.retrieve()

    def _want_tile(self, rect: QRectF, scale: float) -> None:
        """The view is zoomed in past the preview: a sharper tile of `rect`, one request at a time."""
        if self._tile_busy:
            self._tile_next = (rect, scale)
            return
        if self.loaded is None or self.ctx.runner.closed:  # the view's debounce can outlive the window
            return
        generation, self._tile_busy = self._generation, True
        box = (int(rect.left()), int(rect.top()), int(rect.right()), int(rect.bottom()))

        def done(image: QImage) -> None:
            self._tile_busy = False
            if generation == self._generation:
                self.view.set_detail(image, rect, scale)
            self._next_tile()

        def failed(_message: str) -> None:  # the preview stays: blurrier, not wrong
            self._tile_busy = False
            self._next_tile()

        self.ctx.runner.submit(photo_display.tile, self.loaded, box, scale, lane="io", on_done=done, on_error=failed)

    def _next_tile(self) -> None:
        if self._tile_next is not None:
            rect, scale = self._tile_next
            self._tile_next = None
            self._want_tile(rect, scale)

    def retrieve(self) -> None:
        """Retrieve the open photo again (after a correction, an edit, a new question)."""
        if self.loaded is None or self.path is None:
            return
        generation = self._generation
        self.ctx.runner.submit(
            photo_ops.retrieve_photo,
            self.ctx.session,
            self.loaded,
            self.path,
            self.question,
            on_done=lambda result: self._show(generation, result),
            on_error=lambda exc: self._failed(generation, exc),
        )

    def _failed(self, generation: int, exc: BaseException) -> None:
        """Nothing stays on screen claiming work that stopped; a missing model is said in plain words
        (what to get and where, with the technical text behind Details)."""
        if generation == self._generation and self.path is not None:
            self.panel.summary.setText(f"{self.path.name}: could not look for people and things.")
        if isinstance(exc, ModelMissingError):
            self.ctx.status.show_error(MODELS_MISSING, message(exc))
        else:
            name = self.path.name if self.path is not None else "the photo"
            self.ctx.status.show_error(*readable(message(exc), f"It could not look for people and things in {name}."))

    def ask(self, question: str, about: PhotoContext | Path | None) -> None:
        """A question asked in the Assistant: when it is about the photo on view, the names it
        mentions are starred on the photo and listed in the panel (a retrieval with the question)."""
        if self._on_view(about) and question.strip() != self.question:
            self.question = question.strip()
            self.retrieve()

    def _on_view(self, about: PhotoContext | Path | None) -> bool:
        """`about` is the photo on view: that decode of it, or its file."""
        if isinstance(about, PhotoContext):
            return about.photo is self.loaded
        return about is not None and self.path is not None and Path(about) == self.path

    def _show(self, generation: int, result: photo_ops.PhotoResult) -> None:
        if generation != self._generation:
            return
        names = self.ctx.names()
        named = mentioned(result.question, names)
        keys = {n.casefold() for n in names}
        missing = [
            t for t in dict.fromkeys(m.strip() for m in _TAGS.findall(result.question)) if t.casefold() not in keys
        ]
        self._named = {n.casefold() for n in named}
        self.current = result
        self._draw()
        self.panel.show_result(result.result, named, missing, self.everything)
        keep = self.view.selected_region()
        self.panel.select(keep)
        self._show_region(keep)
        if self.path is not None and self.loaded is not None:
            self.photo_retrieved.emit(PhotoContext(self.path, self.loaded, result.result))
        self.models_used.emit()
        found = sum(1 for r in result.result.regions if recognised(r))
        self.ctx.status.notify(f"{self.path.name if self.path else ''}: {found} recognised.")
        self._tell()
        self._update_actions()
        self.shown.emit()

    def current_names(self) -> dict[str, str | None]:
        """Region id -> the name it shows (None: unknown), for the photo on view."""
        if self.current is None:
            return {}
        return {r.id: r.accepted.concept if r.accepted else None for r in self.current.result.regions}

    def _tell(self) -> None:
        """Once an answer's result is drawn, say what it did, and what it changed elsewhere on the photo."""
        answer = self.pending
        if answer is None or answer.state == "sent":
            return
        self.pending = None
        after = self.current_names()
        if answer.state == "undone":
            self.panel.say(f"Undone: {answer.done_text()}")
            return
        others = answers.side_effects(answer.region_id, answer.before, after, self._where)
        said = " ".join([answer.done_text() + ".", *others]) if others else answer.done_text()
        self.panel.say(said, undo=self._can_undo(answer))

    def _where(self, region_id: str) -> str:
        region = self.region(region_id)
        width = self.loaded.size[0] if self.loaded is not None else 0
        return answers.where(region.box, width) if region is not None else ""

    def _can_undo(self, answer: Answer) -> bool:
        stack = self.ctx.undo_stack
        return stack.index() > 0 and stack.command(stack.index() - 1) is answer.command

    def _undo_answer(self) -> None:
        shown = self.shown_answer
        if shown is not None and self._can_undo(shown):
            self.ctx.undo_stack.undo()

    @property
    def everything(self) -> bool:
        return self.everything_action.isChecked()

    def _draw(self) -> None:
        """The boxes of the current result: quiet (the recognised ones, named) or everything."""
        if self.current is None:
            return
        regions = self.current.result.regions
        hidden = sum(1 for r in regions if not recognised(r) and r.source != "whole")
        self.everything_action.setText(f"Show &everything it found ({hidden})")
        keep = self.view.selected_region()
        items = []
        for region in regions:
            if not (self.everything or recognised(region)):
                continue
            look = region_look(region, self.everything)
            accepted = region.accepted
            if accepted is not None and accepted.concept.casefold() in self._named:
                look = type(look)(look.label + " ★", look.style, look.struck)  # named in the question
            items.append(RegionItem(region.id, region.box, look, whole=region.source == "whole"))
        self.view.set_regions(items, selected=keep)

    def _everything_toggled(self, _on: bool) -> None:
        self._draw()
        if self.current is not None:
            self.panel.show_result(self.current.result, self.panel.named, self.panel.missing, self.everything)
            self.panel.select(self.view.selected_region())
            self._show_region(self.view.selected_region())

    # --- selection -----------------------------------------------------------------------------

    def region(self, region_id: str) -> RegionResult | None:
        if self.current is None or not region_id:
            return None
        return next((r for r in self.current.result.regions if r.id == region_id), None)

    def selected(self) -> RegionResult | None:
        return self.region(self.view.selected_region())

    def _view_selected(self, region_id: str) -> None:
        self.panel.select(region_id)
        self._show_region(region_id)
        self._update_actions()

    def _panel_selected(self, region_id: str) -> None:
        self.view.select_region(region_id)

    def _hovered_changed(self, region_id: str) -> None:
        self._hovered = region_id
        self._show_region(region_id or self.view.selected_region())

    def _show_region(self, region_id: str) -> None:
        region = self.region(region_id)
        crop = self.crop(region) if region is not None else None
        exemplars = self.current.exemplars if self.current else {}
        threshold = self.current.result.threshold if self.current else 0.0
        self.panel.show_region(region, crop, exemplars, threshold, self.everything)

    def crop(self, region: RegionResult) -> QPixmap | None:
        if self.pixmap is None or self.loaded is None:
            return None
        scale = self.pixmap.width() / max(1, self.loaded.size[0])
        x1, y1, x2, y2 = (v * scale for v in region.box)
        return self.pixmap.copy(QRect(int(x1), int(y1), max(1, int(x2 - x1)), max(1, int(y2 - y1))))

    def _context_menu(self, region_id: str, where: QPoint) -> None:
        menu = QMenu(self.parent_widget)
        if region_id:
            menu.addActions(self.region_actions)
            menu.addSeparator()
        menu.addActions([self.draw_action, self.everything_action, self.fit_action, self.rerun_action])
        menu.popup(where)

    # --- corrections ---------------------------------------------------------------------------

    def _push(self, action: str, region: RegionResult, concept: str | None, info: str = "", category=None) -> None:
        assert self.current is not None
        photo = self.current.result.photo
        created = (
            action == "reassign"
            and bool(concept)
            and concept.casefold() not in {n.casefold() for n in self.ctx.names()}
        )
        command = CorrectionCommand(self.ctx, action, photo, region.id, concept, info, category)
        answer = Answer(command, region.id, action, concept or "", created, self.current_names())
        command.on_applied = lambda: self._answer_state(answer, "applied")
        command.on_reverted = lambda: self._answer_state(answer, "undone")
        self.pending = self.shown_answer = answer
        self.panel.say("")
        self.ctx.undo_stack.push(command)

    def _answer_state(self, answer: Answer, state: str) -> None:
        """The store did (or took back) the answer: the next drawing of the photo says so."""
        answer.state = state
        self.pending = answer

    def _target(self) -> tuple[RegionResult | None, str | None]:
        """The selected region and the concept meant: the chosen candidate, else the accepted one."""
        region = self.selected()
        if region is None:
            return None, None
        candidate = self.panel.selected_candidate() or region.accepted
        return region, candidate.concept if candidate is not None else None

    def confirm(self) -> None:
        region, concept = self._target()
        if region is not None and concept:
            self._push("confirm", region, concept)

    def reject(self) -> None:
        region, concept = self._target()
        if region is not None and concept:
            self._push("reject", region, concept)

    def reassign(self, region: RegionResult | None = None) -> None:
        region = region or self.selected()
        if region is None or self.dialog is not None:
            return
        current = region.accepted.concept if region.accepted else ""
        picker = ConceptPicker(self.parent_widget, self.ctx.concepts, "Who or what is this?", exclude=current)
        picker.accepted.connect(lambda: self._assign(region, picker.chosen()))
        self._open(picker)

    def _assign(self, region: RegionResult, name: str | None) -> None:
        if not name:
            return
        accepted = region.accepted
        same = accepted is not None and accepted.concept.casefold() == name.casefold()
        self._push("confirm" if same else "reassign", region, name)

    def assign_dropped(self, region_id: str, name: str) -> None:
        """A concept dragged from the library onto a box."""
        region = self.region(region_id)
        if region is not None:
            self.view.select_region(region_id)
            self._assign(region, name)

    def new_concept(self) -> None:
        region = self.selected()
        if region is None or self.dialog is not None:
            return
        label = region.label if region.source == "detector" else ""
        dialog = RegisterDialog(
            self.parent_widget,
            self.ctx.concepts.name_keys(),
            self.crop(region),
            f"a box of {self.path.name if self.path else 'the photo'}",
            category=label,
            categories=self.ctx.concepts.categories(),
        )
        dialog.accepted.connect(
            lambda: self._push("reassign", region, dialog.name(), dialog.info(), dialog.category() or None)
        )
        self._open(dialog)

    def _open(self, dialog) -> None:
        self.dialog = dialog
        dialog.finished.connect(lambda _result: self._closed(dialog))
        dialog.open()

    def _closed(self, dialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def add_box(self, box: tuple) -> None:
        """A drawn box becomes a region; then the picker asks what is in it."""
        self.draw_action.setChecked(False)
        if self.loaded is None:
            return
        generation = self._generation

        def added(region_id: str) -> None:
            if generation != self._generation:
                return
            self.shown.connect(lambda: self._picked_drawn(region_id), type=Qt.ConnectionType.SingleShotConnection)
            self.retrieve()

        self.ctx.runner.submit(photo_ops.add_box, self.ctx.session, self.loaded, box, on_done=added)

    def _picked_drawn(self, region_id: str) -> None:
        self.view.select_region(region_id)
        region = self.region(region_id)
        if region is not None and self.ctx.concepts.rowCount() > 0:
            self.reassign(region)
        elif region is not None:
            self.ctx.status.notify("Added your box. Say who or what is in it with New person or thing… (M).")

    def show_answer_box(self, box: tuple, about: PhotoContext | Path | None) -> None:
        """The assistant's grounding answer, drawn when it is about the photo on view: that decode of
        it (a question asked with its PhotoContext), or its file (a question about a chosen file)."""
        if self._on_view(about):
            self.view.show_answer_box(tuple(float(v) for v in box))

    def close_dialogs(self) -> None:
        if self.dialog is not None:
            self.dialog.reject()
