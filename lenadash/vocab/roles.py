"""The clinic roles lenadash knows (issue 11); what each may do is in lenadash.access.permissions."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "clinician": "everything clinical: read, upload, record events, dose decisions, course edits, REMS",
    "nurse": "read, upload exports, record events; no dose decisions",
    "pharmacist": "read, REMS and dispensing records",
    "viewer": "read only",
    "admin": "users and roles, the audit trail",
}
