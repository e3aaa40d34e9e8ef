"""The album part of the window."""
