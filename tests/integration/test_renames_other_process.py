"""A rename made by another process while a caption run writes sidecars (the CLI while the window
captions): each sidecar takes the names the store holds when it is written, so no photo keeps the
old name. The other process is a real one: nothing it knows reaches this one but the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rap_desktop.core.album.caption import caption_folder

from . import test_renames
from .test_renames import OPTIONS, N, _accepted_photos, _names_in, _sidecars
from .test_xmp import needs_exiftool, read_back

album, indexed = test_renames.album, test_renames.indexed  # the same album fixtures

CLI = "import sys; from rap_desktop.cli import main; sys.exit(main(sys.argv[1:]))"


@needs_exiftool
def test_a_rename_by_another_process_during_a_caption_run(album, tiny_config: Path) -> None:
    session, folder = album
    store = session.store()
    with_chelsea = _accepted_photos(session, "chelsea")
    assert len(with_chelsea) >= 3
    renamed: list[str] = []

    def rename_in_another_process(progress) -> None:
        if progress.done == 1 and not renamed:  # photo 2 was prepared (batch of 2) with the old name
            args = ["--home", str(session.home), "--config", str(tiny_config), "concept", "edit", "chelsea"]
            done = subprocess.run(
                [sys.executable, "-c", CLI, *args, "--rename", "Chelsea"], capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr
            renamed.append(done.stdout)

    report = caption_folder(
        store,
        session.assistant,
        str(folder),
        write_xmp=True,
        options=OPTIONS,
        batch_size=2,
        progress=rename_in_another_process,
    )
    assert (report.captioned, report.failed) == (N, ())
    assert renamed and "1 XMP sidecars now say <Chelsea>" in renamed[0]  # the one written before it
    found = {str(p)[: -len(".xmp")]: _names_in(read_back(p)) for p in _sidecars(folder)}
    assert len(found) == N
    assert not [p for p, names in found.items() if "chelsea" in names]
    assert {p for p, names in found.items() if "Chelsea" in names} == with_chelsea
