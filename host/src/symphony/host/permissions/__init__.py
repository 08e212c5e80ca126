"""The permission framework: grants, policy, the one checker, model budgets, the audit log, learning.

A manifest *declares* permissions; the user (``symphony ext grant``) or the
distribution's policy *grants* them; :class:`PermissionChecker` allows a
request only when it is declared, granted (or the extension is trusted), and
not denied by policy, and records every decision in the :class:`AuditLog`.
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
from ._service import PermissionReport, Permissions, database_path, open_permissions

__all__ = [
    "AuditEntry",
    "AuditLog",
    "CheckerMode",
    "Decision",
    "EffectivePolicy",
    "FileRequest",
    "Grant",
    "GrantStore",
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
    "requests_for",
    "subject_from_manifest",
]
