"""The PySide6 desktop UI: a thin layer over `rap_desktop.core` (the only package that imports Qt)."""
