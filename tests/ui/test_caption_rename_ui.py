"""The window's caption run and a rename made by another process (the CLI) while it writes sidecars:
each sidecar takes the names the store holds when it is written (read on the store lane just before
and after the io lane writes it), so no photo keeps the old name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rap_desktop.core.models.generator import GenerationOptions
from rap_desktop.ui.album.caption_ops import CaptionRun, Job
from rap_desktop.ui.runtime.tasks import TaskRunner

from ..integration import test_renames
from ..integration.test_renames import N, _accepted_photos, _names_in, _sidecars
from ..integration.test_renames_other_process import CLI
from ..integration.test_xmp import needs_exiftool, read_back

album, indexed = test_renames.album, test_renames.indexed  # the same album fixtures
WAIT = 120_000  # ms; the first caption converts and loads the tiny generator


@needs_exiftool
def test_a_rename_by_another_process_during_the_windows_caption_run(qtbot, album, tiny_config: Path) -> None:
    session, folder = album
    with_chelsea = _accepted_photos(session, "chelsea")
    runner = TaskRunner()
    run = CaptionRun(
        session, runner, Job(str(folder), write_xmp=True, options=GenerationOptions(max_new_tokens=4), batch=2)
    )
    renamed: list[str] = []

    def rename_in_another_process(progress) -> None:
        if progress.done == 1 and not renamed:  # photo 2 was prepared (batch of 2) with the old name
            args = ["--home", str(session.home), "--config", str(tiny_config), "concept", "edit", "chelsea"]
            done = subprocess.run(
                [sys.executable, "-c", CLI, *args, "--rename", "Chelsea"], capture_output=True, text=True
            )
            renamed.append(done.stdout + done.stderr)

    run.progress.connect(rename_in_another_process)
    try:
        with qtbot.waitSignal(run.finished, timeout=WAIT) as waited:
            run.start()
        result = waited.args[0]
    finally:
        runner.shutdown()
    assert (result.error, result.captioned, result.failed) == (None, N, [])
    assert renamed and "1 XMP sidecars now say <Chelsea>" in renamed[0], renamed
    found = {str(p)[: -len(".xmp")]: _names_in(read_back(p)) for p in _sidecars(folder)}
    assert len(found) == N
    assert not [p for p, names in found.items() if "chelsea" in names]
    assert {p for p, names in found.items() if "Chelsea" in names} == with_chelsea
