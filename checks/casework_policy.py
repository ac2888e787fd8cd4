"""The casework part of the policy (R-C1, R-D5): the ``[alerts]`` table beyond ``sla_hours``
(how long a scenario may be snoozed) and the ``[cases]`` table (case due times by priority,
which priorities need four eyes to close, attachment size and type allow-list, how long a
merchant has to answer an information request).

Parsed strictly by :func:`casework_policy`: an unknown key in either table is refused, so a typo
cannot fall back to a default. A policy file without a ``[cases]`` table (versions before
kyb-2026.11.2) has no casework policy (``None``); the casework services then refuse to run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

PRIORITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
ALERT_KEYS = frozenset({"sla_hours", "snooze_max_hours"})
CASE_KEYS = frozenset({"due_hours", "four_eyes_priorities", "attachment_max_bytes",
                       "attachment_types", "information_request_days"})


@dataclass(frozen=True)
class CaseworkPolicy:
    """Snooze bound, case due times, four-eyes priorities, attachment rules."""

    snooze_max_hours: int
    due_hours: Mapping[str, int]
    four_eyes_priorities: tuple[str, ...]
    attachment_max_bytes: int
    attachment_types: tuple[str, ...]
    information_request_days: int


def casework_policy(raw: Mapping[str, Any], *, error: type[Exception],
                    readers: Mapping[str, Callable[[Any, str], Any]]) -> CaseworkPolicy | None:
    """The validated casework policy of ``raw`` (a parsed policy file), ``None`` without a
    ``[cases]`` table. ``readers`` are the policy module's ``int`` and ``str_list`` readers, so
    errors read like every other policy error."""
    cases = raw.get("cases")
    if cases is None:
        return None
    _refuse_unknown(raw.get("alerts", {}), "alerts", ALERT_KEYS, error)
    _refuse_unknown(cases, "cases", CASE_KEYS, error)
    read_int, read_list = readers["int"], readers["str_list"]
    due = cases.get("due_hours")
    if not isinstance(due, dict) or set(due) != set(PRIORITIES):
        raise error(f"cases.due_hours: expected a table with exactly {', '.join(PRIORITIES)}")
    four_eyes = read_list(raw, "cases.four_eyes_priorities")
    if not set(four_eyes) <= set(PRIORITIES):
        raise error(f"cases.four_eyes_priorities: expected priorities among {PRIORITIES}")
    types = read_list(raw, "cases.attachment_types")
    if not types or any("/" not in t for t in types):
        raise error("cases.attachment_types: expected MIME types such as application/pdf")
    result = CaseworkPolicy(
        snooze_max_hours=read_int(raw, "alerts.snooze_max_hours"),
        due_hours=MappingProxyType({p: read_int(raw, f"cases.due_hours.{p}")
                                    for p in PRIORITIES}),
        four_eyes_priorities=four_eyes,
        attachment_max_bytes=read_int(raw, "cases.attachment_max_bytes"),
        attachment_types=tuple(t.lower() for t in types),
        information_request_days=read_int(raw, "cases.information_request_days"))
    if result.snooze_max_hours < 1 or result.attachment_max_bytes < 1:
        raise error("alerts.snooze_max_hours and cases.attachment_max_bytes must be at least 1")
    return result


def _refuse_unknown(table: Any, name: str, known: frozenset[str],
                    error: type[Exception]) -> None:
    if not isinstance(table, dict):
        raise error(f"{name}: expected a table")
    for key in table:
        if key not in known:
            raise error(f"{name}.{key}: unknown {name} key")
