"""Domain errors of the pure spatial core. They know nothing of HTTP."""


class GeoError(Exception):
    """Base class of every error raised by :mod:`geo`."""


class InvalidGeometryError(GeoError):
    """A geometry could not be read or repaired into the expected shape."""


class OutsideCoverageError(GeoError):
    """A point lies outside every area of the index."""


class InvalidTileAddressError(GeoError):
    """A ``z/x/y`` that does not name a map tile."""
