"""Errors the user can act on. Anything else is an internal failure."""

from __future__ import annotations


class RapError(Exception):
    """A problem with the user's input or environment, with a message meant for people.

    The CLI prints the message on one line and exits with status 2; the GUI shows it in a dialog.
    """


class InvalidNameError(RapError):
    """An illegal or unknown concept name."""


class ImageError(RapError):
    """A file that cannot be used as a photo (broken, too big, not an image)."""


class ConflictError(RapError):
    """The change would clash with what is already stored (e.g. a duplicate name)."""


class NotFoundError(RapError):
    """A concept, exemplar or file that does not exist."""


class ModelMissingError(RapError):
    """Weights for a configured model are not present where we looked."""


class ArchiveError(RapError):
    """A backup archive that is broken or hostile."""
