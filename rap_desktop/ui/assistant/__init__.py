"""The assistant part of the window."""
