"""Wiring: settings + data folder -> a store with its embedder. Shared by the CLI and the GUI."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .assistant import Assistant
from .errors import RapError
from .models.embedder import ClipEmbedder, embedder_spec
from .models.generator import RapGenerator
from .paths import config_file, data_home
from .retrieval import DEFAULT_THRESHOLDS, FALLBACK_THRESHOLD, Retriever
from .settings import Settings, load_settings
from .store import Store


@dataclass
class Session:
    home: Path
    settings: Settings
    _store: Store | None = None
    _embedder: ClipEmbedder | None = None
    _detector: object | None = None
    _generator: RapGenerator | None = None
    notice: Callable[[str], None] | None = None  # told once when the data folder opens read-only

    @classmethod
    def open(cls, home: str | Path | None = None, config: str | Path | None = None) -> Session:
        path = config_file(config)
        # a settings file the user named (flag or environment) must exist; only the default may be absent
        if (config or os.environ.get("RAP_DESKTOP_CONFIG")) and not path.exists():
            raise RapError(f"settings file {path} does not exist")
        return cls(data_home(home), load_settings(path))

    @property
    def embedder(self) -> ClipEmbedder:
        # built on first use: choosing "auto" asks torch about CUDA, which costs an import
        if self._embedder is None:
            spec = embedder_spec(self.settings.registry(), self.settings.embedder, self.settings.device)
            self._embedder = ClipEmbedder(spec, self.settings.device)
        return self._embedder

    def retrieval_settings(self) -> tuple[float, int]:
        """(acceptance threshold for the current embedder, concepts per prompt) from [retrieval]."""
        table = self.settings.extra.get("retrieval", {})
        thresholds = {**DEFAULT_THRESHOLDS, **table.get("thresholds", {})}
        threshold = float(thresholds.get(self.embedder.model_id, FALLBACK_THRESHOLD))
        return threshold, int(table.get("limit", 2))

    @property
    def detector(self):
        if self._detector is None:
            from .models.detector import YoloDetector, detector_spec

            registry = self.settings.registry()
            spec = detector_spec(registry, self.settings.detector, self.settings.device)
            encoder_name = spec.options.get("text_encoder")
            encoder = ClipEmbedder(registry.get(encoder_name), self.settings.device) if encoder_name else None
            if encoder is not None and encoder.model_id == self.embedder.model_id:
                encoder = self.embedder  # one copy of the weights serves both
            self._detector = YoloDetector(spec, encoder, self.settings.device)
        return self._detector

    def generator(self, progress=None) -> RapGenerator:
        """The generator over a transformers-layout folder: an original-layout download is converted
        once (with progress) and the converted copy reused."""
        if self._generator is None:
            from .models import convert, weights
            from .models.generator import generator_spec

            spec = generator_spec(self.settings.registry(), self.settings.generator, self.settings.device)
            source = weights.require(spec)
            tower = spec.options.get("vision_tower", "")
            folder = convert.ensure_transformers_layout(
                source,
                spec.name,
                lambda: convert.resolve_vision_tower(tower, spec.name),
                str(spec.options.get("template", "vicuna_v1")),
                progress,
            )
            backend, _ = self.generation_settings()
            self._generator = RapGenerator(spec, folder, self.settings.device, self.settings.quantization, backend)
        return self._generator

    def forget_generator(self) -> None:
        """The next `generator()` builds afresh (the settings now name other weights)."""
        self._generator = None

    def generation_settings(self) -> tuple[str, int]:
        """(decode backend, album caption batch; 0 = from free GPU memory) from [generation]."""
        from .models.decoding import check_backend

        table = self.settings.extra.get("generation", {})
        where = f"settings file {self.settings.source}" if self.settings.source else "settings"
        try:
            backend = check_backend(str(table.get("decode_backend", "eager")))
        except RapError as exc:
            raise RapError(f"{where}: [generation] {exc}") from None
        batch = table.get("caption_batch", 0)
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 0:
            raise RapError(f"{where}: [generation] caption_batch must be a whole number >= 0 (0 = automatic)")
        return backend, batch

    def assistant(self, progress=None) -> Assistant:
        generator = self.generator(progress)
        retriever = self.retriever()
        retriever.limit = generator.concept_limit  # the generator was trained with this many at most
        return Assistant(self.store(), retriever, generator, str(generator.spec.options.get("template", "vicuna_v1")))

    def retriever(self) -> Retriever:
        threshold, limit = self.retrieval_settings()
        return Retriever(self.store(), self.embedder, self.detector, threshold=threshold, limit=limit)

    def store(self, with_embedder: bool = True) -> Store:
        if self._store is None:
            try:
                self.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RapError(f"cannot create the data folder {self.home}: {exc.strerror}") from None
            try:
                self._store = Store(self.home, self.embedder if with_embedder else None)
            except OSError as exc:  # e.g. images/ or cache/index is a file, not a folder
                where = f" ({exc.filename})" if exc.filename else ""
                raise RapError(f"cannot open the data folder {self.home}: {exc.strerror or exc}{where}") from None
            if self._store.read_only and self.notice is not None:
                self.notice(self._store.read_only)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
