"""RAP Desktop: a local assistant that knows your own people, pets and things."""

__version__ = "0.1.0"
