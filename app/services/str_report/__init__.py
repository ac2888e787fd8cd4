"""The suspicious-transaction report (STR) package of a case (R-D5).

``build_str_package`` gathers what the regulator (MASAK) needs to judge a report — the merchant,
its persons and owners, linked merchants, the case's alerts with their scenarios and evidence,
the transactions and API calls concerned (cards masked), the analyst's narrative, the decisions
and who took them, the policy versions — each item anchored to the audit events (seq + hash)
that recorded it, plus the chain head at export, and a SHA-256 over the canonical JSON.
``render_str_pdf`` prints that package; ``file_str`` records a filing on the case and
``export_str`` audits who exported which case's report.
"""

from app.services.str_report.errors import CaseNotFound, StrConflict, StrError, StrInvalid
from app.services.str_report.filing import FORMATS, MEDIA_TYPES, export_str, file_str, load_case
from app.services.str_report.package import build_str_package, canonical_json, package_sha256
from app.services.str_report.pdf import render_str_pdf

__all__ = ["FORMATS", "MEDIA_TYPES", "CaseNotFound", "StrConflict", "StrError", "StrInvalid",
           "build_str_package", "canonical_json", "export_str", "file_str", "load_case",
           "package_sha256", "render_str_pdf"]
