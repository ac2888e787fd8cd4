"""All models, imported here so that ``SQLModel.metadata`` knows every table (Alembic reads it)."""

from app.models.activity import IdempotencyRecord, Notification, Transaction
from app.models.audit import AuditEvent
from app.models.keys import ApiKey, SpendTotal
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
from app.models.oauth import OAuthClient, OAuthToken
from app.models.risk import (
    Alert,
    Assessment,
    BlacklistEntry,
    Decision,
    ScreeningEntry,
    ScreeningList,
)
from app.models.users import STAFF_ROLES, MerchantUser, StaffUser

__all__ = [
    "STAFF_ROLES", "Alert", "ApiKey", "Assessment", "AuditEvent", "BankAccount",
    "BlacklistEntry", "ContactPoint", "Decision", "IdempotencyRecord", "Merchant",
    "MerchantChange", "MerchantNote", "MerchantStatus", "MerchantUser", "Notification",
    "OAuthClient", "OAuthToken", "Ownership", "Person", "ScreeningEntry", "ScreeningList",
    "SpendTotal", "StaffUser", "Transaction",
]
