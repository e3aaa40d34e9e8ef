"""Screenshots of Album ▸ Import people tags…, the whole screen as a person sees it. Run under Xvfb,
once per screen size:

    xvfb-run -a -s "-screen 0 1024x700x24" .venv/bin/python -m tests.ui.make_import_tags_screenshots \
        docs/screenshots 1024x700

An album of package photos indexed with the tiny random-weight models, with the sidecars digiKam and
Lightroom write (faces marked, a pet, a name given only as a keyword). Not a test (no assertions)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image

from .make_words_screenshots import settle, shoot, wait_until

DIGIKAM = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
    'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
    'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">'
    "<digiKam:TagsList><rdf:Seq>{keywords}</rdf:Seq></digiKam:TagsList>"
    '<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>{regions}</rdf:Bag></mwg-rs:RegionList>'
    "</mwg-rs:Regions></rdf:Description></rdf:RDF></x:xmpmeta>"
)
REGION = (
    '<rdf:li rdf:parseType="Resource"><mwg-rs:Name>{name}</mwg-rs:Name><mwg-rs:Type>{kind}</mwg-rs:Type>'
    '<mwg-rs:Area stArea:x="{x}" stArea:y="{y}" stArea:w="{w}" stArea:h="{h}" stArea:unit="normalized"/></rdf:li>'
)
# photo -> (name, kind, centre x, centre y, width, height) marked in it, and keyword-only names
TAGS = {
    "zidane": ([("Anna", "Face", 0.33, 0.3, 0.12, 0.3), ("Grandpa Joe", "Face", 0.72, 0.3, 0.12, 0.3)], []),
    "astronaut": ([("Anna", "Face", 0.45, 0.25, 0.2, 0.3)], []),
    "grace_hopper": ([("Grandpa Joe", "Face", 0.5, 0.35, 0.4, 0.4)], []),
    "chelsea": ([("Mochi", "Pet", 0.5, 0.5, 0.6, 0.8)], []),
    "bus": ([], ["People/Carla", "Places/Madrid"]),
    "coffee": ([], ["People/Anna"]),
}


def _album(folder: Path, photos: dict[str, Path]) -> None:
    folder.mkdir(parents=True)
    for name, (marked, keywords) in TAGS.items():
        path = folder / f"{name}.jpg"
        Image.open(photos[name]).convert("RGB").save(path, quality=90)
        regions = "".join(REGION.format(name=n, kind=k, x=x, y=y, w=w, h=h) for n, k, x, y, w, h in marked)
        words = keywords + [f"{'Pets' if k == 'Pet' else 'People'}/{n}" for n, k, *_ in marked]
        text = DIGIKAM.format(keywords="".join(f"<rdf:li>{w}</rdf:li>" for w in words), regions=regions)
        Path(f"{path}.xmp").write_text(text)


def _package_photos() -> dict[str, Path]:
    """The package photos tests/conftest.py names (not imported: it would make Qt offscreen)."""
    import matplotlib
    import skimage
    import ultralytics

    sk = Path(skimage.__file__).parent / "data"
    return {
        "zidane": Path(ultralytics.__file__).parent / "assets" / "zidane.jpg",
        "bus": Path(ultralytics.__file__).parent / "assets" / "bus.jpg",
        "astronaut": sk / "astronaut.png",
        "chelsea": sk / "chelsea.png",
        "coffee": sk / "coffee.png",
        "grace_hopper": Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg",
    }


def main(out: Path, size: str) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from rap_desktop.core.album.indexer import Indexer
    from rap_desktop.core.session import Session
    from rap_desktop.core.thumbcache import for_home
    from rap_desktop.devtools.tiny_models import write_all
    from rap_desktop.ui.assistant.assistant_dock import SKIP_MODELS_PROMPT
    from rap_desktop.ui.main_window import MainWindow
    from rap_desktop.ui.runtime.tasks import TaskRunner

    width, height = (int(v) for v in size.split("x"))
    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rap-tags-shots-"))
    session = Session.open(work / "home", write_all(work / "models"))
    album = work / "Family photos"
    _album(album, _package_photos())
    retriever = session.retriever()
    retriever.threshold = 0.999  # random weights: nothing is recognised before the import
    Indexer(retriever, for_home(session.home), workers=0).index([album])
    settings = QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat)
    settings.setValue(SKIP_MODELS_PROMPT, True)
    win = MainWindow(session, TaskRunner(), settings)
    win.resize(width, height)
    win.move(0, 0)
    win.show()
    wait_until(app, lambda: win._loaded_once)
    win.tabs.show_album()  # the album behind the dialog
    dialog = win.album_tools.show_import_tags()
    wait_until(app, lambda: not dialog.loading and dialog.list.count() > 0)
    dialog.set_checked(["Anna", "Mochi"])
    settle(app)
    shoot(app, out / f"import_tags_{size}.png")
    dialog.import_checked()
    wait_until(app, lambda: not dialog.loading and win.runner.pending == 0)
    settle(app, 1.5)
    shoot(app, out / f"import_tags_done_{size}.png")
    dialog.close()
    win.close()
    session.close()


if __name__ == "__main__":
    main(
        Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"), sys.argv[2] if len(sys.argv) > 2 else "1024x700"
    )
