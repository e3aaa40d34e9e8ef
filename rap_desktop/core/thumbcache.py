"""Album thumbnails on disk, by content hash: a moved or duplicated photo shares one thumbnail."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from .fsutil import write_atomic
from .images import thumbnail

SIZE = 256


class ThumbCache:
    def __init__(self, folder: Path, size: int = SIZE) -> None:
        self.folder = Path(folder)
        self.size = size

    def path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}-{self.size}.jpg"

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def ensure(self, sha256: str, image: Image.Image) -> Path:
        """Write the thumbnail unless it is there already (atomic: never a half file)."""
        path = self.path(sha256)
        if not path.is_file():
            buffer = io.BytesIO()
            thumbnail(image, self.size).save(buffer, format="JPEG", quality=85)
            write_atomic(path, buffer.getvalue())
        return path


def for_home(home: Path) -> ThumbCache:
    return ThumbCache(Path(home) / "cache" / "thumbs")
