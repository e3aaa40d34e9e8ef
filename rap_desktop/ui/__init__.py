"""The PySide6 desktop UI: a thin layer over `rap_desktop.core` (the only package that imports Qt)."""

from .runtime.refcounts import protect_singletons

protect_singletons()  # before any signal is emitted: PySide6 6.12 drops references to True and None
