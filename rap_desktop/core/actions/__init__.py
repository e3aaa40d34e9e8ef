"""Every change a user can make, as one call: the change, its consequences (the album's re-match,
the caches that follows), and a `Changes` record of what it touched (`core/changes.py`).

The CLI and the GUI call these and nothing below them for a change; undo is an action too
(`undo_correction`, `restore_concepts`, `unname_group`). Each takes the `Session`, because the
re-match needs its store, its embedder's model id and its retrieval threshold.
"""

from .concepts import add_concept, add_exemplar, edit_concept, remove_concept, remove_concepts, restore_concepts
from .corrections import confirm, correct, reassign, reject, undo_correction
from .groups import hide_group, hide_regions, name_group, name_regions, unhide_group, unname_group
from .imports import import_backup, import_rap
from .merge import merge_concepts, unmerge

__all__ = [
    "add_concept",
    "add_exemplar",
    "confirm",
    "correct",
    "edit_concept",
    "hide_group",
    "hide_regions",
    "import_backup",
    "import_rap",
    "merge_concepts",
    "name_group",
    "name_regions",
    "reassign",
    "reject",
    "remove_concept",
    "remove_concepts",
    "restore_concepts",
    "undo_correction",
    "unhide_group",
    "unmerge",
    "unname_group",
]
