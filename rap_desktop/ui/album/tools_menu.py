"""The album tools: "Who's this?…", "Unknown groups…" and "Caption and tag photos…" (`menu_actions`, placed
by the window in its Album menu). The dialogs are made on first use and kept (non-modal: the library, the photo
and undo stay usable beside them).

What a caption run wants of the assistant it says with signals (`models_requested`,
`generator_loaded`); the window wires them, and `generator_unloading`, `follow` and `close` back."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from rap_desktop.core.changes import Changes

from ..context import AppContext
from .caption_dialog import CaptionDialog, show_caption
from .groups_dialog import GroupsDialog, show_groups
from .import_tags_dialog import ImportTagsDialog, show_import_tags
from .review_dialog import ReviewDialog, show_review


class AlbumTools(QObject):
    models_requested = Signal()  # the generator's weights are missing: the models dialog says where to get them
    generator_loaded = Signal(object)  # Loaded: a caption run loaded the generator; the chat can use the same one

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        """`parent`: the window, the dialogs' parent."""
        super().__init__(parent)
        self.ctx, self.parent_widget = ctx, parent
        self.groups_dialog: GroupsDialog | None = None
        self.caption_dialog: CaptionDialog | None = None
        self.review_dialog: ReviewDialog | None = None
        self.review_action = QAction("&Who's this?…", parent)
        self.review_action.setShortcut("Ctrl+Shift+R")
        self.review_action.setToolTip("One question at a time about the people, pets and things the album is unsure of")
        self.review_action.triggered.connect(lambda _checked=False: self.show_review())
        self.groups_action = QAction("Unknown &groups…", parent)
        self.groups_action.setShortcut("Ctrl+Shift+G")
        self.groups_action.setToolTip("Look-alike people, pets and things not named yet: name them in one step")
        self.groups_action.triggered.connect(lambda _checked=False: self.show_groups())
        self.caption_action = QAction("Caption and &tag photos…", parent)
        self.caption_action.setShortcut("Ctrl+Shift+T")
        self.caption_action.setToolTip("Personalised captions for an album folder, and XMP sidecars for other apps")
        self.caption_action.triggered.connect(lambda _checked=False: self.show_caption())
        self.menu_actions = [self.review_action, self.groups_action, self.caption_action]
        self.import_tags_dialog: ImportTagsDialog | None = None
        self.import_tags_action = QAction("Import &people tags…", parent)
        self.import_tags_action.setToolTip("Bring in the people other photo apps already named in your photos")
        self.import_tags_action.triggered.connect(lambda _checked=False: self.show_import_tags())
        self.menu_actions.append(self.import_tags_action)

    def generator_unloading(self) -> None:
        """Unload generator during a caption run: the run stops after its current photo."""
        if self.caption_dialog is not None and self.caption_dialog.running:
            self.caption_dialog.cancel("the generator was unloaded")

    def follow(self, changes: Changes) -> None:
        """A change in the window moves regions in or out of the unknown groups."""
        if self.groups_dialog is not None:
            self.groups_dialog.follow(changes)
        if self.review_dialog is not None:
            self.review_dialog.follow(changes)

    def show_review(self) -> ReviewDialog:
        if self.review_dialog is None:
            self.review_dialog = ReviewDialog(self.ctx, self.parent_widget)
        return show_review(self.review_dialog)

    def show_groups(self) -> GroupsDialog:
        if self.groups_dialog is None:
            self.groups_dialog = GroupsDialog(self.ctx, self.parent_widget)
        return show_groups(self.groups_dialog)

    def show_import_tags(self) -> ImportTagsDialog:
        if self.import_tags_dialog is None:
            self.import_tags_dialog = ImportTagsDialog(self.ctx, self.parent_widget)
        return show_import_tags(self.import_tags_dialog)

    def show_caption(self) -> CaptionDialog:
        if self.caption_dialog is None:
            dialog = self.caption_dialog = CaptionDialog(self.ctx, self.parent_widget)
            dialog.models_requested.connect(self.models_requested)
            dialog.generator_loaded.connect(self.generator_loaded)
        return show_caption(self.caption_dialog)

    def close(self) -> None:
        """Before the window waits for the lanes at close: a caption run stops at its next step."""
        if self.caption_dialog is not None:
            self.caption_dialog.cancel()
