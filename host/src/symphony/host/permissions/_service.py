"""Everything permissions in one place, built from the host's settings and distribution profile."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from symphony.hookspecs import (
    ConfigurationError,
    DataError,
    DistroProfile,
    HookCallError,
    Permission,
    PortUnavailableError,
    ProviderConflictError,
    covers,
    format_permission,
    grant_command,
    is_denied_by,
    single_targets,
)
from symphony.hookspecs.ports import PermissionRecordsPort

from ._audit import AuditLog
from ._checker import CheckerMode, PermissionChecker
from ._grants import Grant, GrantStore
from ._identity import IdentityLookup, installed_identity, installed_publisher_check, no_identity
from ._locations import LocationResolver
from ._policy import EffectivePolicy
from ._records import HostPermissionRecords
from ._requests import Subject, SubjectLookup

if TYPE_CHECKING:
    from .._settings import Settings

__all__ = ["PermissionReport", "Permissions", "database_path", "open_permissions", "provided_records"]


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
    #: Why its publisher, trusted by the distribution, is not trusted for this install (no valid verification).
    publisher_distrust: str | None = None


class Permissions:
    """The grant store, the audit log and the effective policy; makes checkers."""

    def __init__(
        self,
        *,
        records: PermissionRecordsPort | Path,
        policy: EffectivePolicy,
        resolver: LocationResolver,
        lookup: SubjectLookup,
        flush_interval: float = 0.5,
        identify: IdentityLookup = no_identity,
    ) -> None:
        #: The host's own file, opened here from a path: closed with this (records passed in are the caller's).
        self._owned = HostPermissionRecords(records) if isinstance(records, Path) else None
        records = self._owned or records
        self.grants = GrantStore(records, identify=identify)
        self.audit = AuditLog(records, flush_interval=flush_interval)
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
            publisher_distrust=self.policy.publisher_distrust(subject) if trusted is None else None,
        )

    def close(self) -> None:
        self.audit.close()
        if self._owned is not None:
            self._owned.close()


class _Ports(Protocol):
    """A host or a plugin's HostContext: what serves the ports."""

    @property
    def settings(self) -> Settings: ...

    def port(self, name: Any) -> Any: ...


def database_path(settings: Settings) -> Path:
    """``permissions.database``, else ``<data_dir>/permissions.db``: the host's own file, when no plugin keeps them."""
    return settings.permissions.database or settings.data_dir / "permissions.db"


def provided_records(host: _Ports) -> PermissionRecordsPort | None:
    """Port ``permission_records`` when a plugin provides it, None when none does (the host's own file then).

    A provider that fails, or a ``ports.permission_records`` naming a plugin
    that does not provide it, is a ConfigurationError: the host must not fall
    back to other records (and so other grants) than those configured.
    """
    try:
        return host.port("permission_records")  # type: ignore[no-any-return]
    except PortUnavailableError as error:
        if "permission_records" in host.settings.ports:
            raise ConfigurationError(f"Cannot keep extension permissions: {error}") from None
        return None
    except (HookCallError, ProviderConflictError, DataError) as error:
        raise ConfigurationError(
            f"Cannot keep extension permissions: port permission_records failed ({error}). No extension is loaded"
            " without its grants; fix the data service (`symphony doctor`), or choose another provider with"
            " `ports.permission_records`."
        ) from None


def open_permissions(
    settings: Settings,
    profile: DistroProfile | None,
    lookup: SubjectLookup,
    *,
    records: PermissionRecordsPort | None = None,
    workspace: Path | None = None,
) -> Permissions:
    """The permissions of a host with these settings and this distribution profile.

    ``records``: port ``permission_records`` (see :func:`provided_records`);
    None keeps them in the host's own SQLite file, :func:`database_path`.
    Records that cannot be read are a ConfigurationError.
    """
    section = settings.permissions
    try:
        return Permissions(
            records=records if records is not None else database_path(settings),
            policy=EffectivePolicy.combine(
                profile,
                deny=section.deny,
                trusted=section.trusted,
                check_publisher=installed_publisher_check(settings.cache_dir, use_cache=settings.plugins.index_cache),
            ),
            resolver=LocationResolver.from_settings(settings, workspace=workspace),
            lookup=lookup,
            flush_interval=section.audit_flush_interval,
            identify=installed_identity(settings.cache_dir, use_cache=settings.plugins.index_cache),
        )
    except DataError as error:
        raise ConfigurationError(
            f"Cannot read the extension permissions ({type(error).__name__}: {error}). No extension is loaded without"
            " its grants; fix the data service (`symphony doctor`) and retry."
        ) from None
