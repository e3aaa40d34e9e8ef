"""A write that runs out of space fails with a clear message and leaves the store intact."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rap_desktop.core import health
from rap_desktop.core.session import Session

SCRIPT = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    import rap_desktop.torch_compat
    from rap_desktop.core.errors import RapError
    from rap_desktop.core.session import Session

    home, config, small, big = sys.argv[1:5]
    store = Session.open(Path(home), Path(config)).store()
    store.add_concept("small", small)
    store.embedder.load()
    # From here on no file may grow past 64 KiB: the big photo's copy cannot be written (EFBIG),
    # the same failure a full disk gives.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
    try:
        store.add_concept("big", big)
    except RapError as exc:
        print("refused:", exc)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_no_space_left_is_a_clear_error(home: Path, tiny_config: Path, photos: dict[str, Path], tmp_path) -> None:
    from PIL import Image

    small = tmp_path / "small.png"
    Image.open(photos["chelsea"]).resize((32, 32)).save(small)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(home), str(tiny_config), str(small), str(photos["astronaut"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "refused: could not write to the data folder" in out.stdout
    assert "nothing was changed" in out.stdout
    session = Session.open(home, tiny_config)
    store = session.store()
    assert [c.name for c in store.list_concepts()] == ["small"]
    assert health.check(store) == []
    assert {p.name for p in store.images_dir.rglob("*") if p.is_file()} == {e.image for e in store.exemplars()}
    session.close()
