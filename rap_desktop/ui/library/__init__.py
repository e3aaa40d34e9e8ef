"""The library part of the window."""
