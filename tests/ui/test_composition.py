"""The window's parts take the context, not the window: nothing in ui/ but the app imports the
main window (not even for a type), and the UI's import graph has no cycle."""

from __future__ import annotations

from tests.unit.test_import_cycles import cycles, graph

WINDOW = "rap_desktop.ui.main_window"


def test_only_the_app_imports_the_main_window() -> None:
    edges = graph()
    users = sorted(name for name, targets in edges.items() if WINDOW in targets)
    assert users == ["rap_desktop.ui.app"]


def test_the_ui_has_no_import_cycles() -> None:
    edges = graph()
    ui = {
        name: {t for t in targets if t.startswith("rap_desktop.ui")}
        for name, targets in edges.items()
        if name.startswith("rap_desktop.ui")
    }
    assert cycles(ui) == []
