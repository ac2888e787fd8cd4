"""The outcome of one check: status, points, evidence and one sentence for the reviewer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from checks.codec import from_jsonable, to_jsonable

Status = Literal["pass", "flag", "fail", "unknown"]
STATUSES: tuple[str, ...] = ("pass", "flag", "fail", "unknown")


@dataclass(frozen=True)
class CheckResult:
    """What a check decided.

    ``evidence`` holds the facts used and the policy values applied, as JSON-compatible data
    (Decimal and dates already as strings) so the result can be stored and shown as is.
    """

    code: str
    status: Status
    points: int
    evidence: dict[str, Any]
    explanation: str
    # The explanation's template and values (``checks.wording.Says.to_dict``), so the console
    # can write it in the reader's language; None for results stored before issue #11.
    wording: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 0:
            raise ValueError(f"points must be a non-negative integer, got {self.points!r}")
        try:
            json.dumps(self.evidence, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"evidence of {self.code} is not JSON-serialisable: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-compatible data."""
        return to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """Rebuild a result from :meth:`to_dict` output."""
        return from_jsonable(cls, data)
