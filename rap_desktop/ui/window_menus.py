"""The window's actions, its menu bar and its toolbar: each part's actions placed where a family looks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from .about import show_about
from .runtime.actions import make_action


class WindowMenus:
    """Mixed into the main window: the concept actions, undo/redo, the menus and the toolbar."""

    def _build_actions(self) -> None:
        c = self.commands
        key = QKeySequence.StandardKey
        self.add_action = make_action(self, "&Add concept…", c.add_concept, key.New)
        self.add_photo_action = make_action(self, "Add &photo to concept…", c.add_photo, "Ctrl+Shift+N")
        self.edit_action = make_action(self, "&Edit…", c.edit, "F2")
        self.remove_action = make_action(self, "&Remove", c.remove, key.Delete)
        self.merge_action = make_action(self, "&Same person or thing…", c.merge)
        self.merge_action.setToolTip("Two selected concepts are one person or thing: make them one")
        self.import_rap_action = make_action(self, "Import RAP &database folder…", c.import_rap_folder)
        self.export_action = make_action(self, "&Export backup…", c.export_backup, "Ctrl+E")
        self.import_backup_action = make_action(self, "&Import backup…", c.import_backup)
        self.quit_action = make_action(self, "&Quit", self.close, key.Quit)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # StandardKey.Quit is empty on some desktops
        self.find_action = make_action(self, "&Find", self._focus_search, key.Find)
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        # the toolbar says just Undo / Redo; the menu and the tooltip say what ("Undo Reassign r6 as <chelsea>")
        self.undo_action.setIconText("Undo")
        self.redo_action.setIconText("Redo")
        for action, tip in (
            (self.add_action, "Remember someone or something new from a photo"),
            (self.add_photo_action, "Add another photo of the selected concept"),
            (self.edit_action, "Change the name, description or category"),
            (self.remove_action, "Forget the selected concepts and their photos"),
        ):
            action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        # Delete must not fire while typing in the search box
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.list_view.addAction(self.remove_action)
        self._build_menus()
        self._build_toolbar()
        self._update_actions()

    def _build_menus(self) -> None:
        p = self.photos
        bar = self.menuBar()
        menu = bar.addMenu("&File")
        menu.addAction(p.open_action)
        menu.addSeparator()
        menu.addActions([self.import_rap_action, self.import_backup_action, self.export_action])
        menu.addSeparator()
        menu.addAction(self.quit_action)
        menu = bar.addMenu("&Edit")
        menu.addActions([self.undo_action, self.redo_action])
        menu = bar.addMenu("&Concepts")
        menu.addActions([self.add_action, self.add_photo_action, self.edit_action, self.remove_action])
        menu.addAction(self.merge_action)
        menu.addSeparator()
        menu.addAction(self.find_action)
        menu = bar.addMenu("&Photo")
        menu.addActions([p.open_action, p.rerun_action, p.draw_action])
        menu.addSeparator()
        menu.addActions(p.region_actions)
        self.album_menu = menu = bar.addMenu("&Album")
        menu.addActions(self.album.menu_actions)
        menu.addSeparator()
        menu.addActions(self.album_tools.menu_actions)
        self.addActions([*self.tabs.tab_actions, *self.album.menu_actions])  # shortcuts on either tab
        menu = bar.addMenu("&View")
        menu.addActions(self.tabs.tab_actions)
        menu.addSeparator()
        menu.addActions([p.fit_action, p.zoom_in_action, p.zoom_out_action])
        menu.addSeparator()
        menu.addActions([self.library_dock.toggleViewAction(), self.retrieval_dock.toggleViewAction()])
        a = self.assistant
        menu = bar.addMenu("&Assistant")
        menu.addActions([a.ask_action, a.caption_action, self.assistant_dock.toggleViewAction(), a.models_action])
        menu.addAction(a.unload_action)
        menu = bar.addMenu("&Help")
        self.about_action = make_action(self, "&About RAP Desktop", lambda: show_about(self))
        menu.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        p = self.photos
        toolbar = self.main_toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")  # saveState() needs a name
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(p.open_action)
        toolbar.addSeparator()
        toolbar.addActions([self.add_action, self.add_photo_action, self.edit_action, self.remove_action])
        toolbar.addSeparator()
        toolbar.addActions([self.undo_action, self.redo_action])
        toolbar.addSeparator()
        toolbar.addActions([p.fit_action, p.draw_action])
