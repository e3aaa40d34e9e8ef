"""A separate process that adds to, or removes and edits in, one store (driven by test_concurrent_edits).

    edit_worker.py HOME CONFIG PHOTO add|edit COUNT BARRIER

add: per step a new concept made from the same image bytes as the photo of a shared concept the
editor reaches late (its removal must not take a file still in use), and a photo added to that shared
concept (which the editor may be removing or renaming meanwhile).
edit: per step, the shared concept is removed (odd steps) or renamed with a new info (even steps).
Each outcome is printed as one line; both processes start their loops together at the barrier, and
the editor's step i runs while the adder goes on from its step i.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from store_worker import photo  # the script's own folder is on sys.path

import rap_desktop.torch_compat  # noqa: F401
from rap_desktop.core.errors import NotFoundError
from rap_desktop.core.images import load_image
from rap_desktop.core.session import Session


def _barrier(folder: Path, me: str) -> None:
    (folder / me).touch()
    while not all((folder / role).exists() for role in ("add", "edit")):
        time.sleep(0.01)


def add(store, base, count: int, barrier: Path) -> None:
    for i in range(count):
        late = count - 1 - i  # a shared concept the editor reaches late
        # the same image bytes as shared{late}'s photo: its removal must not take a file still in use
        store.add_concept(f"new{i}", load_image(photo(base, late, 0), name=f"new{i}.png"))
        print(f"added new{i}", flush=True)
        try:
            store.add_exemplar(f"shared{late}", load_image(photo(base, i, 1), name="more.png"))
            print(f"exemplar shared{late}", flush=True)
        except NotFoundError:  # removed or renamed first
            print(f"missed shared{late}", flush=True)
        (barrier / f"step{i}").touch()


def edit(store, count: int, barrier: Path) -> None:
    for i in range(count):
        while not (barrier / f"step{i}").exists():  # never ahead of the adder (it embeds, we do not)
            time.sleep(0.005)
        if i % 2:
            store.remove_concept(f"shared{i}")
            print(f"removed shared{i}", flush=True)
        else:
            store.edit_concept(f"shared{i}", rename=f"Renamed{i}", info=f"<Renamed{i}> after step {i}")
            print(f"renamed shared{i}", flush=True)


def main() -> None:
    home, config, source, role, count, barrier = sys.argv[1:7]
    base = load_image(Path(source)).image
    session = Session.open(Path(home), Path(config))
    _barrier(Path(barrier), role)
    if role == "add":
        add(session.store(), base, int(count), Path(barrier))
    else:
        edit(session.store(), int(count), Path(barrier))
    session.close()


if __name__ == "__main__":
    main()
