"""The undo of a merge gives the sidecars back their names: a merge rewrote the app's sidecars that
said OTHER to say KEEP; `match undo` (and Undo in the window) writes each of those again from the
store, so it says OTHER again where it did before, and KEEP where the photo has KEEP too. Read back
with exiftool, as other photo apps read them."""

from __future__ import annotations

from pathlib import Path

from rap_desktop.core import actions
from rap_desktop.core.album.caption import caption_folder
from rap_desktop.core.session import Session

from . import test_renames
from .test_renames import OPTIONS, _accepted_photos, _cli, _names_in, _sidecars
from .test_xmp import needs_exiftool, read_back

album, indexed = test_renames.album, test_renames.indexed  # the same album fixtures


def _said(folder: Path) -> dict[str, tuple[list[str], str]]:
    """Each sidecar's names (keywords and regions, sorted) and caption, as exiftool reads them."""
    docs = {str(p): read_back(p) for p in _sidecars(folder)}
    return {p: (sorted(_names_in(d)), str(d.get("Description", ""))) for p, d in docs.items()}


def _chelsea_only_where_kitty_is_not(session: Session, photos: list[str]) -> None:
    """In these photos chelsea is not accepted ("that is not chelsea" on each region it held)."""
    store = session.store()
    for path in photos:
        rows = store.conn.execute(
            "SELECT p.sha256, r.ordinal FROM matches m JOIN regions r ON r.id = m.region_id JOIN photos p "
            "ON p.id = r.photo_id JOIN album_files f ON f.photo_id = p.id JOIN concepts c ON c.id = m.concept_id "
            "WHERE f.path = ? AND c.name = 'chelsea' AND m.accepted = 1",
            (path,),
        ).fetchall()
        for sha256, ordinal in rows:
            actions.reject(session, sha256, f"r{ordinal}", "chelsea")


@needs_exiftool
def test_undoing_a_merge_gives_the_sidecars_their_names_back(album, tiny_config: Path, capsys) -> None:
    session, folder = album
    store = session.store()
    _chelsea_only_where_kitty_is_not(session, sorted(_accepted_photos(session, "kitty"))[:3])
    kitty, chelsea = _accepted_photos(session, "kitty"), _accepted_photos(session, "chelsea")
    assert kitty - chelsea and kitty & chelsea  # photos with OTHER alone, and with both
    report = caption_folder(store, session.assistant, str(folder), write_xmp=True, options=OPTIONS)
    assert len(report.sidecars) == len(_sidecars(folder)) > 0
    before = _said(folder)
    assert {p[: -len(".xmp")] for p, (names, _) in before.items() if "kitty" in names} == kitty
    session.close()  # the CLI is another process's view of the same data folder

    code, out, err = _cli(session, tiny_config, capsys, "concept", "merge", "chelsea", "kitty")
    assert code == 0, err
    merged = _said(folder)
    assert not [p for p, (names, _) in merged.items() if "kitty" in names]
    assert {p[: -len(".xmp")] for p, (names, _) in merged.items() if "chelsea" in names} == kitty | chelsea

    code, out, err = _cli(session, tiny_config, capsys, "match", "undo")
    assert code == 0, err
    assert f"{len(kitty)} XMP sidecars now say <kitty> instead of <chelsea>" in out
    assert _said(folder) == before  # kitty where it was, chelsea only where the photo has chelsea too
    code, out, err = _cli(session, tiny_config, capsys, "album", "rename", "--resume")
    assert (code, out.strip()) == (0, "no sidecar renames left to finish")
