"""Wiring: settings + data folder -> a store with its embedder. Shared by the CLI and the GUI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import RapError
from .models.embedder import ClipEmbedder, embedder_spec
from .paths import config_file, data_home
from .settings import Settings, load_settings
from .store import Store


@dataclass
class Session:
    home: Path
    settings: Settings
    _store: Store | None = None
    _embedder: ClipEmbedder | None = None

    @classmethod
    def open(cls, home: str | Path | None = None, config: str | Path | None = None) -> Session:
        return cls(data_home(home), load_settings(config_file(config)))

    @property
    def embedder(self) -> ClipEmbedder:
        # built on first use: choosing "auto" asks torch about CUDA, which costs an import
        if self._embedder is None:
            spec = embedder_spec(self.settings.registry(), self.settings.embedder, self.settings.device)
            self._embedder = ClipEmbedder(spec, self.settings.device)
        return self._embedder

    def store(self, with_embedder: bool = True) -> Store:
        if self._store is None:
            try:
                self.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RapError(f"cannot create the data folder {self.home}: {exc.strerror}") from None
            self._store = Store(self.home, self.embedder if with_embedder else None)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
