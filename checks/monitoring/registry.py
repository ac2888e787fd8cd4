"""Registry of monitoring scenarios by their stable code.

A scenario is a pure function ``(activity, policy, now) -> tuple[ScenarioHit, ...]`` registered
with ``@scenario("card_velocity")``; a second registration of a code is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from checks.monitoring.model import Activity, ScenarioHit
    from checks.policy import Policy

ScenarioFunction = Callable[["Activity", "Policy", datetime], "tuple[ScenarioHit, ...]"]
_SCENARIOS: dict[str, ScenarioFunction] = {}


class DuplicateScenarioError(ValueError):
    """A scenario with this code is already registered."""


def scenario(code: str) -> Callable[[ScenarioFunction], ScenarioFunction]:
    """Register the decorated function under ``code``; refuse a code already taken."""
    if not code.isidentifier():
        raise ValueError(f"scenario code must be a snake_case identifier, got {code!r}")

    def register(function: ScenarioFunction) -> ScenarioFunction:
        if code in _SCENARIOS:
            raise DuplicateScenarioError(f"scenario {code!r} is already registered")
        _SCENARIOS[code] = function
        return function
    return register


def get(code: str) -> ScenarioFunction:
    """The scenario registered under ``code`` (``KeyError`` if none)."""
    return _SCENARIOS[code]


def codes() -> Iterator[str]:
    """Registered codes in registration order."""
    return iter(list(_SCENARIOS))
