"""What the album page runs in background lanes: listing and searching the album (store lane),
indexing step by step (store lane), reading thumbnails (io lane). No widgets here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QImageReader

from rap_desktop.core.album import search as album_search
from rap_desktop.core.album.indexer import Indexer, IndexReport, IndexRun, Progress
from rap_desktop.core.errors import NotFoundError
from rap_desktop.core.images import fit_within, load_image, load_working
from rap_desktop.core.session import Session
from rap_desktop.core.store import album as album_store
from rap_desktop.core.store import index_state
from rap_desktop.core.thumbcache import ThumbCache, for_home

from ..runtime.thumbnails import pil_to_qimage
from .result_order import BY_DATE, arrange
from .timeline_layout import Section, by_day


class AlbumPhoto(NamedTuple):
    """One tile of the timeline (a named tuple: 50,000 are made per listing, ~4x faster than a frozen
    dataclass)."""

    photo_id: int
    sha256: str
    path: str
    taken: float | None = None
    score: float | None = None  # similarity when the grid shows a search
    confirmed: bool = False  # the user confirmed the filter's concept in this photo


@dataclass(frozen=True)
class Listing:
    """The grid's rows and what they are."""

    photos: list[AlbumPhoto]
    concept: str | None = None  # the first of `concepts`
    text: str = ""
    folders: int = 0
    sections: list[Section] | None = None  # the timeline's days (made on the store lane); None: one flat list
    concepts: tuple[str, ...] = ()  # every concept searched for
    how: str = album_search.TOGETHER  # several concepts: all of them, or only them
    found: int = 0  # photos above the relevance cut (the rest of `photos` came with "show more")
    more: int = 0  # photos below the cut not listed: "Show N more"
    order: str = BY_DATE  # a search's results: by date (under day headings) or best matches first

    def dated(self) -> bool:
        return self.sections is not None


@dataclass(frozen=True)
class PhotoDetails:
    """The viewer's info panel: who and what is in the photo (name, category, confirmed), its stored
    caption, and where it is in the album's folders ("Family photos ▸ 2019 ▸ 06")."""

    photo_id: int
    names: list[tuple[str, str, bool]]
    caption: str | None
    place: str


def place_in_album(path: str, folders: list[str]) -> str:
    """The photo's folder as the family sees it: from the album folder's own name down, ▸ between."""
    folder = Path(path).parent
    for root in sorted(folders, key=len, reverse=True):  # the innermost album folder that holds it
        top = Path(root)
        if folder == top or top in folder.parents:
            return " ▸ ".join([top.name or str(top), *folder.relative_to(top).parts])
    return str(folder)


class AlbumQueries:
    """Store-lane only: the album's photos, by concept, by text (the text index is kept between calls)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._text: album_search.TextSearch | None = None

    def all_photos(self) -> list[AlbumPhoto]:
        """Every indexed album photo once, newest first (undated last), then path."""
        rows = album_store.timeline(self.session.store())
        return [AlbumPhoto(pid, sha, path, taken) for pid, path, sha, taken in rows]

    def details(self, photo: AlbumPhoto) -> PhotoDetails:
        """What the viewer's info panel says about a photo."""
        store = self.session.store()
        names, caption = album_store.photo_details(store, photo.photo_id)
        return PhotoDetails(photo.photo_id, names, caption, place_in_album(photo.path, album_store.folders(store)))

    def search(
        self,
        concept: str | None,
        text: str,
        also: tuple[str, ...] = (),
        how: str = album_search.TOGETHER,
        more: int = 0,
        order: str = BY_DATE,
    ) -> Listing:
        """The album, or the photos of `concept` (and `also`, together or only them) and/or those
        above the relevance cut for `text`, plus `more` photos below the cut, in `order`."""
        store = self.session.store()
        folders = len(album_store.folders(store))
        text = text.strip()
        concepts = tuple(dict.fromkeys([concept, *also])) if concept else ()
        try:
            if text:
                if self._text is None:
                    self._text = album_search.TextSearch(store, self.session.embedder)
                found = self._text.search(text, concepts, how, more)
            elif concepts:
                found = album_search.found_by_concepts(store, concepts, how)
            else:
                photos = self.all_photos()
                return Listing(photos, None, "", folders, by_day([p.taken for p in photos]))
        except NotFoundError:  # the concept was removed meanwhile: the refresh that follows resets the filter
            found = album_search.Found([], 0, 0)
        hits = [AlbumPhoto(h.photo_id, h.sha256, h.path or "", h.taken, h.score, h.confirmed) for h in found.hits]
        photos, sections = arrange(hits, order)
        return Listing(
            photos, concept, text, folders, sections, concepts, how, found=found.found, more=found.more, order=order
        )

    def unfinished(self) -> list[index_state.Unfinished]:
        """The album folders an indexing run did not finish (that are still there)."""
        return [u for u in index_state.unfinished(self.session.store()) if Path(u.folder).is_dir()]

    def folders(self) -> tuple[list[str], list[str]]:
        """The album's folders: (still there, gone), checked here, not on the GUI thread (a network
        drive can take seconds to answer)."""
        known = album_store.folders(self.session.store())
        present = [f for f in known if Path(f).is_dir()]
        return present, [f for f in known if f not in present]

    def failures(self) -> list[tuple[str, str]]:
        return album_store.failures(self.session.store())


# --- indexing, one store-lane call per step --------------------------------------------------------


def start_index(session: Session, folders: list[str], batch_size: int) -> IndexRun:
    """Scan the folders (a big folder takes a while: this is why it runs on the store lane)."""
    indexer = Indexer(session.retriever(), for_home(session.home), batch_size=batch_size)
    return indexer.start(folders)


def step_index(run: IndexRun) -> Progress:
    try:
        return run.step()
    except BaseException:
        run.close()  # the readers stop; what was committed stays
        raise


def finish_index(run: IndexRun) -> IndexReport:
    return run.report()  # closes the run: readers stopped, store flushed


# --- thumbnails (io lane) --------------------------------------------------------------------------


def read_thumbnail(thumbs: ThumbCache, sha256: str, path: str, side: int, square: bool = True) -> QImage:
    """The disk thumbnail, decoded at `side` pixels (JPEG decodes scaled down); rebuilt from the
    photo when the cache lost it. Square: its middle, `side` x `side` (a timeline tile); else the
    whole picture within `side`. QImage, not QPixmap: made off the GUI thread."""
    file = thumbs.path(sha256)
    if not thumbs.has(sha256):
        if not path:
            raise FileNotFoundError(sha256)
        thumbs.ensure(sha256, load_image(Path(path)).image)
    reader = QImageReader(str(file))
    size = reader.size()
    fit = Qt.AspectRatioMode.KeepAspectRatioByExpanding if square else Qt.AspectRatioMode.KeepAspectRatio
    if size.isValid() and (min if square else max)(size.width(), size.height()) > side:
        reader.setScaledSize(size.scaled(QSize(side, side), fit))
    image = reader.read()
    if image.isNull():
        raise OSError(f"cannot read the thumbnail of {Path(path).name or sha256[:12]}: {reader.errorString()}")
    if square and image.width() != image.height():
        short = min(image.width(), image.height())
        image = image.copy((image.width() - short) // 2, (image.height() - short) // 2, short, short)
    if square and image.width() != side:  # exactly the tile: painting never scales
        smooth = Qt.TransformationMode.SmoothTransformation
        image = image.scaled(side, side, Qt.AspectRatioMode.IgnoreAspectRatio, smooth)
    return image


def read_photo(path: str, side: int) -> QImage:
    """The photo itself for the viewer, within `side` pixels (a big JPEG decodes reduced): the core's
    checked loader, upright by its EXIF orientation."""
    loaded = load_working(path, long_side=side, short_side=side * 2 // 3)
    image = loaded.image
    if max(image.size) > side:
        image = fit_within(image, side)
    return pil_to_qimage(image)


def read_thumbnails(thumbs: ThumbCache, wanted: list[tuple[str, str]], side: int) -> list[tuple[str, QImage | None]]:
    """A few thumbnails in one io-lane job: (sha256, image), None for one that cannot be read."""
    out: list[tuple[str, QImage | None]] = []
    for sha, path in wanted:
        try:
            out.append((sha, read_thumbnail(thumbs, sha, path, side)))
        except Exception:  # a broken or vanished photo: its cell shows a placeholder
            out.append((sha, None))
    return out
