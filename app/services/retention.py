"""Retention of personal data (R-D7): once a merchant's relationship has been over for the
period its country's records must be kept (policy ``[retention]``: 8 years for Turkish
records), its personal data is erased — ``kybgate retention purge`` and the daily job
``purge_expired_personal_data``.

Erasing keeps a tombstone, never deletes a row: a person's ciphertexts, blind indexes and
masked id are dropped and ``erased_at`` set (a person still tied to a merchant whose period is
not over is kept); the merchant's e-mail and phone, its e-mail and phone contact points and
the old/new values of its e-mail, phone and owner changes become ``[erased]``, its assessments
lose their sealed evidence and personal facts (the outline of code, status and points stays),
its outbox notices their sealed recipient, body and payload, its screening dismissals their
owner's sealed name, its portal accounts their address (and are closed), and
``personal_data_erased_at`` is set. The audit trail is append-only and hash-chained, so it is
not touched (``kybgate audit verify`` keeps passing): it holds person ids and masks, not names
(``docs/personal-data.md``); one event records each purge run with its counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, select

from app.audit.trail import Actor, record
from app.models import (
    Assessment,
    ContactPoint,
    Merchant,
    MerchantChange,
    MerchantUser,
    Notification,
    Ownership,
    Person,
    ScreeningDismissal,
)
from app.services.portal_users import erase_account
from app.services.screening_subjects import erase_subject
from app.services.sealed_assessments import erase_assessment
from app.services.sealed_notices import erase_notice
from checks.policy import Policy, RetentionPolicy

ERASED = "[erased]"
ERASED_CHANGE_FIELDS = ("email", "phone", "owners")
MAX_LISTED = 200  # ids named in the purge's audit event; the counts are exact


@dataclass
class PurgeResult:
    """What a purge erased (or, in a dry run, would erase)."""

    dry_run: bool
    merchant_ids: list[str] = field(default_factory=list)
    person_ids: list[str] = field(default_factory=list)
    persons_kept: int = 0  # tied to a merchant whose retention period is not over
    contact_points: int = 0
    changes: int = 0
    assessments: int = 0
    notifications: int = 0
    dismissals: int = 0
    portal_users: int = 0

    def summary(self) -> dict:
        """Counts for the CLI, the job's log and the audit event."""
        return {"dry_run": self.dry_run, "merchants": len(self.merchant_ids),
                "persons": len(self.person_ids), "persons_kept": self.persons_kept,
                "contact_points": self.contact_points, "changes": self.changes,
                "assessments": self.assessments, "notifications": self.notifications,
                "dismissals": self.dismissals, "portal_users": self.portal_users}


def add_years(moment: dt.datetime, years: int) -> dt.datetime:
    """``moment`` plus whole calendar years (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def retention_ends(merchant: Merchant, retention: RetentionPolicy) -> dt.datetime | None:
    """When ``merchant``'s personal data may be erased; None while the relationship lasts."""
    if merchant.relationship_ended_at is None or merchant.status not in \
            retention.ended_statuses:
        return None
    return add_years(merchant.relationship_ended_at, retention.years_for(merchant.country))


def expired_merchants(session: Session, *, retention: RetentionPolicy,
                      now: dt.datetime) -> list[Merchant]:
    """Merchants whose retention period is over and whose data is not erased yet (an index
    range on ``relationship_ended_at``, then each merchant's own country period)."""
    shortest = min([retention.default_years, *retention.years_by_country.values()])
    rows = session.exec(select(Merchant).where(
        Merchant.relationship_ended_at <= add_years(now, -shortest),
        Merchant.status.in_(retention.ended_statuses),
        Merchant.personal_data_erased_at.is_(None)).order_by(Merchant.id)).all()
    return [m for m in rows if (end := retention_ends(m, retention)) is not None and end <= now]


def purge_personal_data(session: Session, *, policy: Policy, now: dt.datetime, actor: Actor,
                        dry_run: bool = False) -> PurgeResult:
    """Erase the personal data whose retention period ended by ``now`` (see the module);
    flushes, the caller commits (or, for ``dry_run``, changes nothing and records nothing)."""
    result = PurgeResult(dry_run=dry_run)
    if policy.retention is None:  # a policy before kyb-2026.11.3 keeps everything
        return result
    merchants = expired_merchants(session, retention=policy.retention, now=now)
    expired = {m.id for m in merchants}
    result.merchant_ids = sorted(expired)
    for person in _persons_of(session, expired):
        if _still_needed(session, person, expired):
            result.persons_kept += 1
            continue
        result.person_ids.append(person.id)
        if not dry_run:
            _erase_person(person, now)
            session.add(person)
    for merchant in merchants:
        result.contact_points += _erase_merchant(session, merchant, now, dry_run, result)
    if not dry_run and (result.merchant_ids or result.person_ids):
        session.flush()
        record(session, actor.event(
            "personal_data.purged", target_type="database", at=now,
            reason=f"retention policy {policy.version}",
            details={**result.summary(), "policy_version": policy.version,
                     "merchant_ids": result.merchant_ids[:MAX_LISTED],
                     "person_ids": sorted(result.person_ids)[:MAX_LISTED]}))
    return result


def _persons_of(session: Session, merchant_ids: set[str]) -> list[Person]:
    if not merchant_ids:
        return []
    return list(session.exec(select(Person).where(Person.erased_at.is_(None), Person.id.in_(
        select(Ownership.person_id).where(Ownership.merchant_id.in_(merchant_ids))))
        .order_by(Person.id)).all())


def _still_needed(session: Session, person: Person, expired: set[str]) -> bool:
    """Whether ``person`` is tied to a merchant whose retention period is not over."""
    others = session.exec(select(Ownership.merchant_id).join(
        Merchant, Merchant.id == Ownership.merchant_id).where(
        Ownership.person_id == person.id, Merchant.personal_data_erased_at.is_(None))).all()
    return any(mid not in expired for mid in others)


def _erase_person(person: Person, now: dt.datetime) -> None:
    person.full_name_sealed = person.birth_date_sealed = person.national_id_sealed = None
    person.name_index = person.name_birth_index = person.national_id_index = None
    person.national_id_masked = None
    person.erased_at = now


def _erase_merchant(session: Session, merchant: Merchant, now: dt.datetime, dry_run: bool,
                    result: PurgeResult) -> int:
    points = session.exec(select(ContactPoint).where(
        ContactPoint.merchant_id == merchant.id, ContactPoint.kind.in_(("email", "phone")),
        ContactPoint.value != ERASED)).all()
    result.changes += session.exec(select(sa.func.count()).select_from(MerchantChange).where(
        MerchantChange.merchant_id == merchant.id,
        MerchantChange.field.in_(ERASED_CHANGE_FIELDS))).one()
    _erase_sealed_records(session, merchant.id, now, dry_run, result)
    if dry_run:
        return len(points)
    for point in points:
        point.value, point.value_key = ERASED, f"erased:{point.id}"  # links nothing any more
        point.value_sealed = None
        session.add(point)
    session.execute(sa.update(MerchantChange).where(
        MerchantChange.merchant_id == merchant.id,
        MerchantChange.field.in_(ERASED_CHANGE_FIELDS)).values(old_value=ERASED,
                                                               new_value=ERASED))
    merchant.email_sealed = merchant.phone_sealed = None
    merchant.personal_data_erased_at = now
    session.add(merchant)
    return len(points)


def _erase_sealed_records(session: Session, merchant_id: str, now: dt.datetime, dry_run: bool,
                          result: PurgeResult) -> None:
    """The merchant's assessments, outbox notices, screening dismissals and portal accounts:
    their sealed personal content is dropped (counted in a dry run)."""
    kinds = ((Assessment, Assessment.checks_sealed, "assessments",
              lambda row: erase_assessment(row, now)),
             (Notification, Notification.content_sealed, "notifications", erase_notice),
             (ScreeningDismissal, ScreeningDismissal.subject_sealed, "dismissals",
              erase_subject),
             (MerchantUser, MerchantUser.email_sealed, "portal_users", erase_account))
    for model, sealed, counter, erase in kinds:
        rows = session.exec(select(model).where(model.merchant_id == merchant_id,
                                                sealed.is_not(None))).all()
        setattr(result, counter, getattr(result, counter) + len(rows))
        for row in [] if dry_run else rows:
            erase(row)
            session.add(row)
