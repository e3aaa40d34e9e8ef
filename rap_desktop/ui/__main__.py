"""`python -m rap_desktop.ui` starts the desktop app."""

from .app import main

main()
