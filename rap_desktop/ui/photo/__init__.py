"""The photo part of the window."""
