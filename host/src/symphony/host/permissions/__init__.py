"""The permission framework: grants, policy, the one checker, model budgets, the audit log, learning.

A manifest *declares* permissions; the user (``symphony ext grant``) or the
distribution's policy *grants* them; :class:`PermissionChecker` allows a
request only when it is declared, granted (or the extension is trusted), and
not denied by policy, and records every decision in the :class:`AuditLog`.  Grants, trust marks and
the audit are kept by port ``permission_records`` (the data service), or by
the host's own SQLite file (:class:`HostPermissionRecords`) when no plugin
provides it.
See ``docs/permissions.md``.
"""

from ._audit import AuditEntry, AuditLog
from ._budgets import ModelBudgetTracker, Usage
from ._checker import CheckerMode, PermissionChecker
from ._grants import Grant, GrantStore
from ._identity import IdentityLookup, identity_of, installed_identity, no_identity
from ._learn import learn_capabilities
from ._locations import LocationResolver
from ._policy import EffectivePolicy
from ._records import HostPermissionRecords
from ._requests import (
    Decision,
    FileRequest,
    ModelRequest,
    NetworkRequest,
    Request,
    Rule,
    Subject,
    SubjectLookup,
    SystemRequest,
    requests_for,
    subject_from_manifest,
)
from ._service import PermissionReport, Permissions, database_path, open_permissions, provided_records

__all__ = [
    "AuditEntry",
    "AuditLog",
    "CheckerMode",
    "Decision",
    "EffectivePolicy",
    "FileRequest",
    "Grant",
    "GrantStore",
    "HostPermissionRecords",
    "IdentityLookup",
    "LocationResolver",
    "ModelBudgetTracker",
    "ModelRequest",
    "NetworkRequest",
    "PermissionChecker",
    "PermissionReport",
    "Permissions",
    "Request",
    "Rule",
    "Subject",
    "SubjectLookup",
    "SystemRequest",
    "Usage",
    "database_path",
    "identity_of",
    "installed_identity",
    "no_identity",
    "learn_capabilities",
    "open_permissions",
    "provided_records",
    "requests_for",
    "subject_from_manifest",
]
