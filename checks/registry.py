"""Registry of KYB checks by their stable code.

A check is a pure function ``(facts, policy, now) -> CheckResult`` registered with
``@check("domain_age")``. The registry refuses a second check under the same code, so a code always
means one piece of logic; the policy file decides which registered checks run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.facts import MerchantFacts
    from checks.policy import Policy
    from checks.result import CheckResult

CheckFunction = Callable[["MerchantFacts", "Policy", datetime], "CheckResult"]


class DuplicateCheckError(ValueError):
    """A check with this code is already registered."""


class UnknownCheckError(KeyError):
    """No check is registered under this code."""


class CheckRegistry:
    """A mapping of check codes to check functions that refuses duplicates."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckFunction] = {}

    def register(self, code: str, function: CheckFunction) -> CheckFunction:
        """Register ``function`` under ``code``; raise ``DuplicateCheckError`` if taken."""
        if not code or not code.isidentifier():
            raise ValueError(f"check code must be a snake_case identifier, got {code!r}")
        if code in self._checks:
            existing = self._checks[code]
            raise DuplicateCheckError(
                f"check {code!r} is already registered by {existing.__module__}.{existing.__name__}"
            )
        self._checks[code] = function
        return function

    def check(self, code: str) -> Callable[[CheckFunction], CheckFunction]:
        """Decorator form of :meth:`register`."""

        def decorate(function: CheckFunction) -> CheckFunction:
            return self.register(code, function)

        return decorate

    def get(self, code: str) -> CheckFunction:
        """Return the check registered under ``code``."""
        try:
            return self._checks[code]
        except KeyError:
            raise UnknownCheckError(code) from None

    def __contains__(self, code: object) -> bool:
        return code in self._checks

    def __iter__(self) -> Iterator[str]:
        return iter(self._checks)

    def __len__(self) -> int:
        return len(self._checks)


REGISTRY = CheckRegistry()


def check(code: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function in the default registry under its stable ``code``."""
    return REGISTRY.check(code)
