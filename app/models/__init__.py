"""All models, imported here so that ``SQLModel.metadata`` knows every table (Alembic reads it)."""

from app.models import free_text  # noqa: F401 - card numbers masked on every flush
from app.models.activity import IdempotencyRecord, Notification, Transaction
from app.models.audit import AuditEvent, AuditJournal
from app.models.casework import (
    AlertSnooze,
    Case,
    CaseAttachment,
    CaseNote,
    InformationRequest,
)
from app.models.figures import MerchantDaySales, MerchantFigures
from app.models.keys import ApiKey, SpendLease, SpendTotal
from app.models.merchant import (
    BankAccount,
    ContactPoint,
    Merchant,
    MerchantChange,
    MerchantNote,
    MerchantStatus,
    Ownership,
    Person,
)
from app.models.monitoring import ScenarioResult
from app.models.oauth import OAuthClient, OAuthToken
from app.models.risk import (
    Alert,
    Assessment,
    BlacklistEntry,
    BlacklistState,
    Decision,
    ScreeningEntry,
    ScreeningList,
)
from app.models.screening_decisions import ScreeningDismissal
from app.models.users import STAFF_ROLES, MerchantUser, StaffUser
from app.models.webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "STAFF_ROLES", "Alert", "AlertSnooze", "ApiKey", "Assessment", "AuditEvent", "AuditJournal",
    "BankAccount", "BlacklistEntry", "Case", "CaseAttachment", "CaseNote", "ContactPoint",
    "Decision",
    "IdempotencyRecord", "InformationRequest", "Merchant", "MerchantChange",
    "MerchantDaySales", "MerchantFigures", "MerchantNote",
    "MerchantStatus", "MerchantUser", "Notification", "OAuthClient", "OAuthToken", "Ownership",
    "Person", "ScenarioResult", "ScreeningEntry", "ScreeningList", "SpendLease", "SpendTotal",
    "StaffUser",
    "Transaction", "BlacklistState", "WebhookDelivery", "WebhookEndpoint",
    "ScreeningDismissal",
]
