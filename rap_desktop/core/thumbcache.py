"""Album thumbnails on disk, by content hash: a moved or duplicated photo shares one thumbnail."""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

from PIL import Image

from .fsutil import TEMP_MARK
from .images import thumbnail

SIZE = 256


class ThumbCache:
    def __init__(self, folder: Path, size: int = SIZE) -> None:
        self.folder = Path(folder)
        self.size = size

    def path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}-{self.size}.jpg"

    def has(self, sha256: str) -> bool:
        path = self.path(sha256)
        return path.is_file() and path.stat().st_size > 0

    def ensure(self, sha256: str, image: Image.Image) -> Path:
        """Write the thumbnail unless it is there already. Renamed into place (never a half file
        under its name) but not fsynced: a cache, rebuilt from the photo if a crash empties it."""
        path = self.path(sha256)
        if not self.has(sha256):
            buffer = io.BytesIO()
            thumbnail(image, self.size).save(buffer, format="JPEG", quality=85)
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f"{path.name}{TEMP_MARK}{secrets.token_hex(4)}")
            try:
                temp.write_bytes(buffer.getvalue())
                os.replace(temp, path)
            finally:
                temp.unlink(missing_ok=True)
        return path


def for_home(home: Path) -> ThumbCache:
    return ThumbCache(Path(home) / "cache" / "thumbs")
