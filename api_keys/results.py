"""The falsy ``Failure`` every ``api_keys`` parser returns instead of raising on untrusted input.

Request-time inputs (tokens, forwarded-for headers, back URLs) are attacker-controlled, so their
parsers return a value rather than raise: the caller branches on truthiness, as Warehouse's token
restrictions do with ``Success()`` / ``Failure(reason)``. Registration-time inputs (whitelists,
back URLs typed by a merchant) raise ``ValueError`` subclasses that name the offending entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an untrusted input was refused. Always falsy; ``reason`` is a short stable code."""

    reason: str

    def __bool__(self) -> bool:
        return False
