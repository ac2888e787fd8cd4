"""Assessments at rest without clear personal data (issue #13, R-D7, R-D4).

Check evidence, explanations and reasons name owners ("owner "Ayşe Yılmaz" ~ sanctions entry
…"), their birth dates, the merchant's e-mail and phone; the input snapshot holds them as facts.
An assessment therefore keeps in clear only what carries no personal data:

- ``checks``: each check's ``code``, ``status`` and ``points`` (the score breakdown);
- ``reasons``: empty;
- ``input_snapshot``: the instant and the facts other than :data:`PERSONAL_FACTS` (so the
  running figures read the reference price without opening anything), and ``sealed`` naming
  the facts held sealed;

and seals the full checks and reasons in ``checks_sealed`` and the personal facts in
``snapshot_sealed`` (AES-GCM under ``KYB_DATA_KEYS``, bound to the assessment's id and column).

:func:`open_assessment` gives the full assessment back through a
:class:`~app.services.personal_data.Disclosure` (noted as the merchant field
``assessment_evidence``, so it is audited with the disclosure's actor and purpose): replay,
the reviewer's evidence, the API and the STR package all read it this way. A row stored before
sealing (or built by hand) has no sealed columns and is read as it is. Retention erases both
sealed columns and stamps ``input_snapshot["erased_at"]``: the outline stays, replay says the
snapshot was erased.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import object_session

from app.crypto.data_keys import DataKeys
from app.models import Assessment
from app.services.personal_data import SYSTEM, Disclosure, data_keys
from checks.facts import MerchantFacts

# The MerchantFacts fields that hold a natural person's data (checks/facts.py): the contact
# e-mail and phone, owners, shared ownership (owner names, identity conflicts), screening hits
# (the screened subject) and blacklist hits (the listed value).
PERSONAL_FACTS = ("email", "phone", "owners", "shared_ownership", "screening_hits",
                  "blacklist_hits")
OUTLINE = ("code", "status", "points")
FIELD = "assessment_evidence"  # how a Disclosure names what it opened


@dataclass(frozen=True)
class OpenedAssessment:
    """An assessment's full checks, reasons and input snapshot (``erased``: only the outline
    is left, retention erased the rest)."""

    assessment_id: str
    checks: list[dict[str, Any]]
    reasons: list[str]
    input_snapshot: dict[str, Any]
    erased: bool = False


def seal_assessment(row: Assessment, *, checks: list[dict[str, Any]], reasons: list[str],
                    snapshot: dict[str, Any], keys: DataKeys) -> Assessment:
    """Store ``checks``, ``reasons`` and ``snapshot`` on ``row``: the outline in clear, the
    rest sealed and bound to ``row.id`` (see the module)."""
    for name, value in sealed_values(row.id, checks=checks, reasons=reasons, snapshot=snapshot,
                                     keys=keys).items():
        setattr(row, name, value)
    return row


def sealed_values(row_id: str, *, checks: list[dict[str, Any]], reasons: list[str],
                  snapshot: dict[str, Any], keys: DataKeys) -> dict[str, Any]:
    """The column values of an assessment ``row_id`` holding ``checks``, ``reasons`` and
    ``snapshot`` (what :func:`seal_assessment` sets; migration 0020 writes them with SQL)."""
    facts = snapshot["facts"]
    personal = {name: facts[name] for name in PERSONAL_FACTS if name in facts}
    clear_snapshot = {**{k: v for k, v in snapshot.items() if k != "facts"},
                      "facts": {k: v for k, v in facts.items() if k not in personal},
                      "sealed": sorted(personal)}
    return {
        "checks": [{name: check.get(name) for name in OUTLINE} for check in checks],
        "reasons": [], "input_snapshot": clear_snapshot,
        "checks_sealed": keys.seal(json.dumps({"checks": checks, "reasons": reasons}),
                                   table="assessment", column="checks_sealed", row_id=row_id),
        "snapshot_sealed": keys.seal(json.dumps(personal), table="assessment",
                                     column="snapshot_sealed", row_id=row_id)}


def opened_values(row_id: str, *, input_snapshot: dict[str, Any], checks_sealed: str,
                  snapshot_sealed: str, keys: DataKeys) -> dict[str, Any]:
    """The clear ``checks``, ``reasons`` and ``input_snapshot`` of a sealed assessment (no
    audit: for :func:`open_assessment` and the way down of migration 0020)."""
    opened = json.loads(keys.open(checks_sealed, table="assessment", column="checks_sealed",
                                  row_id=row_id))
    personal = json.loads(keys.open(snapshot_sealed, table="assessment",
                                    column="snapshot_sealed", row_id=row_id))
    snapshot = {k: v for k, v in input_snapshot.items() if k != "sealed"}
    snapshot["facts"] = {**snapshot["facts"], **personal}
    return {"checks": opened["checks"], "reasons": opened["reasons"],
            "input_snapshot": snapshot}


def open_assessment(row: Assessment, disclosure: Disclosure | None = None, *,
                    purpose: str = "assessment") -> OpenedAssessment:
    """``row`` in full, opened through ``disclosure``; without one, the system opens it for
    ``purpose`` and the opening joins this transaction's pooled audit event."""
    if row.checks_sealed is None and row.snapshot_sealed is None:
        erased = "erased_at" in (row.input_snapshot or {})
        return OpenedAssessment(row.id, list(row.checks or []), list(row.reasons or []),
                                dict(row.input_snapshot or {}), erased=erased)
    own = disclosure is None
    if own:
        disclosure = Disclosure(actor=SYSTEM, purpose=purpose)
    keys = disclosure.keys or data_keys(object_session(row))
    values = opened_values(row.id, input_snapshot=row.input_snapshot,
                           checks_sealed=row.checks_sealed, snapshot_sealed=row.snapshot_sealed,
                           keys=keys)
    disclosure.opened_merchants.setdefault(row.merchant_id, set()).add(FIELD)
    if own and object_session(row) is not None:
        disclosure.record(object_session(row), merchant_id=row.merchant_id)
    return OpenedAssessment(row.id, values["checks"], values["reasons"],
                            values["input_snapshot"])


def public_facts(row: Assessment) -> MerchantFacts:
    """The snapshot's facts without the personal ones (nothing is opened): the network facts
    a re-assessment re-uses, the prices the running figures compare tickets with."""
    return MerchantFacts.from_dict((row.input_snapshot or {})["facts"])


def outline(row: Assessment) -> list[dict[str, Any]]:
    """The checks as a role that sees no personal data is shown them: code, status and
    points, no explanation or evidence."""
    return [{name: check.get(name) for name in OUTLINE} for check in row.checks or []]


def erase_assessment(row: Assessment, now: dt.datetime) -> None:
    """Retention: drop the sealed evidence and personal facts, keep the outline."""
    row.checks_sealed = row.snapshot_sealed = None
    row.reasons = []
    row.checks = outline(row)
    snapshot = dict(row.input_snapshot or {})
    facts = {k: v for k, v in (snapshot.get("facts") or {}).items() if k not in PERSONAL_FACTS}
    row.input_snapshot = {**snapshot, "facts": facts, "erased_at": now.isoformat()}
