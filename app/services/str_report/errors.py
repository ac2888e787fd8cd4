"""Why an STR cannot be built, exported or filed."""

from __future__ import annotations


class StrError(Exception):
    """A refused STR operation; the message says why in words a user can act on."""


class CaseNotFound(StrError, LookupError):
    """No case has the given id."""


class StrConflict(StrError):
    """The case's state forbids it: an STR already filed, or the case closed."""


class StrInvalid(StrError, ValueError):
    """A bad input value; ``field`` names it (``narrative``, ``reference``, ``format``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
