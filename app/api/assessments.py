"""``/api/v1/merchants/{id}/assessments``: run a KYB risk assessment, read the latest one."""

from __future__ import annotations

from app.api import bp
from app.api.context import api_actor, now
from app.api.framework import operation
from app.api.merchants import load_merchant
from app.api.risk_schemas import AssessmentOut, CheckOut
from app.errors import ApiProblem
from app.extensions import db_session, settings
from app.models import Assessment
from app.services.assessments import active_policy, assess_merchant, latest_assessment
from app.services.facts import lookup_sources
from app.services.personal_data import Disclosure, data_keys
from app.services.screening import screening_index
from app.services.sealed_assessments import open_assessment


def assessment_out(row: Assessment) -> AssessmentOut:
    """The API view of a stored assessment: its sealed evidence opened for the API client
    and audited (R-D7)."""
    session = db_session()
    disclosure = Disclosure(actor=api_actor(), purpose="API assessment read",
                            keys=data_keys(session))
    checks = open_assessment(row, disclosure).checks
    disclosure.record(session, merchant_id=row.merchant_id)
    return AssessmentOut(id=row.id, merchant_id=row.merchant_id,
                         policy_version=row.policy_version, score=row.score, tier=row.tier,
                         recommended_action=row.recommended_action,
                         checks=[CheckOut(**{k: c[k] for k in CheckOut.model_fields})
                                 for c in checks],
                         created_at=row.created_at, trigger=row.trigger,
                         expires_at=row.expires_at)


@operation(bp, "/merchants/<merchant_id>/assessments", "POST", scope="merchants:write",
           summary="Assess a merchant", response=AssessmentOut, status=201,
           tags=("assessments",), errors=(404,))
def create_assessment(merchant_id: str, client_id: str):
    """Run every check of the active policy on the merchant now (RDAP/WHOIS, DNS, website,
    sanctions and PEP lists, blacklist, shared ownership, IBAN history, sales) and store the
    result with the policy version and the exact input snapshot. A lookup that could not be
    made gives ``unknown``, never ``pass``. The merchant's tier follows the result."""
    session = db_session()
    merchant = load_merchant(merchant_id)
    row = assess_merchant(session, merchant=merchant, actor=api_actor(), now=now(),
                          trigger="api", sources=lookup_sources(),
                          index=screening_index(session),
                          policy=active_policy(settings().policy_path))
    return assessment_out(row), 201


@operation(bp, "/merchants/<merchant_id>/assessments/latest", "GET", scope="merchants:read",
           summary="Latest assessment of a merchant", response=AssessmentOut,
           tags=("assessments",), errors=(404,))
def get_latest_assessment(merchant_id: str, client_id: str):
    """The merchant's newest assessment; 404 when it was never assessed."""
    merchant = load_merchant(merchant_id)
    row = latest_assessment(db_session(), merchant)
    if row is None:
        raise ApiProblem(404, "Not found", f"Merchant {merchant_id} has not been assessed yet.",
                         kind="not-found")
    return assessment_out(row)
