"""Everything permissions in one place, built from the host's settings and distribution profile."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from symphony.hookspecs import (
    DistroProfile,
    Permission,
    covers,
    format_permission,
    grant_command,
    is_denied_by,
    single_targets,
)

from ._audit import AuditLog
from ._checker import CheckerMode, PermissionChecker
from ._grants import Grant, GrantStore
from ._identity import IdentityLookup, installed_identity, no_identity
from ._locations import LocationResolver
from ._policy import EffectivePolicy
from ._requests import Subject, SubjectLookup

if TYPE_CHECKING:
    from .._settings import Settings

__all__ = ["PermissionReport", "Permissions", "database_path", "open_permissions"]


class PermissionReport(msgspec.Struct, frozen=True, kw_only=True):
    """``symphony ext permissions NAME``: declared vs granted vs effective, and the fix for what is missing."""

    extension: str
    publisher: str | None
    trusted: str | None
    declared: list[str]
    granted: list[Grant]
    policy_granted: list[str]
    #: Declared and (granted or trusted) and not forbidden: what the extension can actually do.
    effective: list[str]
    #: Declared, not granted: ``grant_command`` grants them all.
    missing: list[str]
    #: Declared but forbidden by the policy: no grant helps.
    forbidden: list[str]
    #: Granted but not declared: no effect until the manifest declares them.
    undeclared_grants: list[str]
    #: Why earlier grants of this name do not count (given to another distribution), or None.
    replaced_grants: str | None
    grant_command: str | None
    user_grants_allowed: bool


class Permissions:
    """The grant store, the audit log and the effective policy; makes checkers."""

    def __init__(
        self,
        *,
        database: Path,
        policy: EffectivePolicy,
        resolver: LocationResolver,
        lookup: SubjectLookup,
        flush_interval: float = 0.5,
        identify: IdentityLookup = no_identity,
    ) -> None:
        self.grants = GrantStore(database, identify=identify)
        self.audit = AuditLog(database, flush_interval=flush_interval)
        self.policy = policy
        self.resolver = resolver
        self.lookup = lookup

    def checker(self, mode: CheckerMode = "enforce") -> PermissionChecker:
        """A checker recording to this audit log; ``learn`` allows everything and records it."""
        return PermissionChecker(
            lookup=self.lookup,
            grants=self.grants,
            policy=self.policy,
            resolver=self.resolver,
            audit=self.audit,
            mode=mode,
        )

    def granted(self, extension: str) -> tuple[Permission, ...]:
        """Policy grants plus the user's (if the policy lets user grants count)."""
        user = tuple(g.value() for g in self.grants.grants(extension)) if self.policy.user_grants else ()
        return (*self.policy.policy_grants(extension), *user)

    def workflow_grants(self, extensions: Iterable[str]) -> dict[str, tuple[Permission, ...]]:
        """Grants per extension, the plain data :func:`symphony.hookspecs.workflow_permission_denials` takes."""
        return {name: self.granted(name) for name in dict.fromkeys(extensions)}

    def trusted(self, subject: Subject) -> str | None:
        """Why ``subject`` is trusted, or None."""
        return self.policy.trust_reason(subject, self.grants.trusted())

    def report(self, subject: Subject) -> PermissionReport:
        """What ``subject`` declares, is granted, and can effectively do."""
        name = subject.name
        trusted = self.trusted(subject)
        user = self.grants.grants(name)
        granted = self.granted(name)
        declared, effective, missing, forbidden = [], [], [], []
        for permission in subject.declared:
            for single in single_targets(permission):
                text = format_permission(single)[0]
                declared.append(text)
                if is_denied_by(self.policy.deny, single):
                    forbidden.append(text)
                elif trusted is not None or any(covers(g, single) for g in granted):
                    effective.append(text)
                else:
                    missing.append(text)
        declared_singles = [s for p in subject.declared for s in single_targets(p)]
        undeclared = [g.permission for g in user if not any(covers(d, g.value()) for d in declared_singles)]
        return PermissionReport(
            extension=name,
            publisher=subject.publisher,
            trusted=trusted,
            declared=declared,
            granted=list(user),
            policy_granted=[format_permission(p)[0] for p in self.policy.policy_grants(name)],
            effective=effective,
            missing=missing,
            forbidden=forbidden,
            undeclared_grants=undeclared,
            replaced_grants=self.grants.replaced_note(name).strip() or None,
            grant_command=grant_command(name, missing) if missing else None,
            user_grants_allowed=self.policy.user_grants,
        )

    def close(self) -> None:
        self.audit.close()


def database_path(settings: Settings) -> Path:
    """``permissions.database``, else ``<data_dir>/permissions.db``."""
    return settings.permissions.database or settings.data_dir / "permissions.db"


def open_permissions(
    settings: Settings,
    profile: DistroProfile | None,
    lookup: SubjectLookup,
    *,
    workspace: Path | None = None,
) -> Permissions:
    """The permissions of a host with these settings and this distribution profile."""
    section = settings.permissions
    return Permissions(
        database=database_path(settings),
        policy=EffectivePolicy.combine(profile, deny=section.deny, trusted=section.trusted),
        resolver=LocationResolver.from_settings(settings, workspace=workspace),
        lookup=lookup,
        flush_interval=section.audit_flush_interval,
        identify=installed_identity(settings.cache_dir, use_cache=settings.plugins.index_cache),
    )
