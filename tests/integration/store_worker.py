"""A separate process that writes to a store (driven by the crash and concurrency tests)."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from PIL import Image

import rap_desktop.torch_compat  # noqa: F401
from rap_desktop.core.errors import ConflictError
from rap_desktop.core.images import load_image
from rap_desktop.core.session import Session


def photo(base: Image.Image, i: int, salt: int) -> bytes:
    # a different crop per concept, so every add writes a new file
    x, y = (i * 7 + salt * 3) % 200, (i * 11 + salt) % 200
    buffer = io.BytesIO()
    base.crop((x, y, x + 256, y + 256)).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    home, config, source, prefix, count, salt = sys.argv[1:7]
    shared = sys.argv[7] if len(sys.argv) > 7 else ""
    base = load_image(Path(source)).image
    store = Session.open(Path(home), Path(config)).store()
    for i in range(int(count)):
        store.add_concept(f"{prefix}{i}", load_image(photo(base, i, int(salt)), name=f"{prefix}{i}.png"))
        print(f"committed {prefix}{i}", flush=True)
        if shared and i % 5 == 0:
            try:
                store.add_concept(f"shared{i}", load_image(photo(base, i, 99), name="s.png"))
                print(f"won shared{i}", flush=True)
            except ConflictError:
                print(f"lost shared{i}", flush=True)
    if shared:  # wait for the other writer, then report what our own (in-memory) index sees
        Path(shared, prefix).touch()
        while len(list(Path(shared).iterdir())) < 2:
            time.sleep(0.05)
        print(f"index {store.index().count}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
