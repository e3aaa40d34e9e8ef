"""The runtime part of the window."""
