"""Service-level domain exceptions. They know nothing of HTTP: ``service/errors.py`` maps them."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of the service's domain errors; ``str(exc)`` is safe to show to a user."""


class NotFoundError(ServiceError):
    """The thing asked for does not exist (or the caller may not know that it exists)."""


class OutsideGreaterEssexError(ServiceError):
    """A location lies outside every Greater Essex authority."""


class ConflictError(ServiceError):
    """The request conflicts with what is stored (e.g. a client id reused for other content)."""


class InvalidInputError(ServiceError):
    """Input that passed schema validation but makes no sense for the domain."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OutOfRangeError(ServiceError):
    """A well-formed value outside the range the service answers for (e.g. a date too far
    ahead)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotReadyError(ServiceError):
    """The database is unreachable or not migrated to the expected revision."""


class DatabaseUnavailableError(ServiceError):
    """The database cannot be reached right now; the client should retry later."""


class AccessDeniedError(ServiceError):
    """The signed-in user's role or scope does not allow this."""


class AuthenticationError(ServiceError):
    """Wrong credentials (deliberately not saying which part was wrong)."""


class InvalidQueryError(ServiceError):
    """Query parameters of the right types that make no sense (together): a 400."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TooManyAttemptsError(ServiceError):
    """Too many failed attempts (sign-ins) for a while; ``retry_after_s`` says how long."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
