"""The grant store: what the user granted each extension, apart from what its manifest declares.

Every grant and trust mark belongs to the distribution it was given to (its
identity, :mod:`._identity`): it counts only while that distribution provides
the name, so a different one that later takes the name after ``pip
uninstall`` inherits nothing.  Grants of a distribution that is gone are
*stale*: listed by :meth:`GrantStore.stale` and removed by :meth:`GrantStore.prune`.

Grants are kept by port ``permission_records`` (the data service, or the
host's own SQLite file, :mod:`._records`) one target per record in text form
(``file:read:/x/**``), with when, by whom and through what they were granted,
and for model grants an optional budget.  Every write changes the records'
version; :attr:`GrantStore.generation` changes on every write in this
process, and :meth:`GrantStore.refresh` notices writes by other processes
(``symphony ext grant`` while a host runs), so checkers keep compiled grants
until either moves.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from symphony.hookspecs import ModelAccess, ModelBudget, Permission, format_permission, parse_permission, single_targets
from symphony.hookspecs.ports import GrantRecord, PermissionRecordsPort, TrustMark

from ._identity import IdentityLookup, no_identity
from ._records import HostPermissionRecords

__all__ = ["Grant", "GrantStore", "current_user", "records_at"]

T = TypeVar("T")


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def records_at(records: PermissionRecordsPort | Path) -> PermissionRecordsPort:
    """``records`` itself, or the host's own SQLite file at that path."""
    return HostPermissionRecords(records) if isinstance(records, Path) else records


class Grant(msgspec.Struct, frozen=True, kw_only=True):
    """One granted permission (single target) and where it came from."""

    extension: str
    permission: str
    granted_at: float
    granted_by: str
    source: str
    budget: ModelBudget | None = None
    #: The distribution it was granted to; None for an extension that is not an installed distribution.
    identity: str | None = None

    def value(self) -> Permission:
        """The permission, with its budget for a model grant."""
        permission = parse_permission(self.permission)
        if isinstance(permission, ModelAccess) and self.budget is not None:
            return ModelAccess(models=permission.models, budget=self.budget)
        return permission


def _texts(permissions: Iterable[Permission | str]) -> list[str]:
    """Single-target, canonical text forms; PermissionSyntaxError for malformed text."""
    out: list[str] = []
    for item in permissions:
        permission = parse_permission(item) if isinstance(item, str) else item
        out += [format_permission(single)[0] for single in single_targets(permission)]
    return list(dict.fromkeys(out))


def _grant(record: GrantRecord) -> Grant:
    return Grant(
        extension=record.extension,
        permission=record.permission,
        granted_at=record.granted_at,
        granted_by=record.granted_by,
        source=record.source,
        budget=record.budget,
        identity=record.identity,
    )


class GrantStore:
    """Grants and trust marks kept by a PermissionRecordsPort (a path: the host's own SQLite file)."""

    def __init__(self, records: PermissionRecordsPort | Path, *, identify: IdentityLookup = no_identity) -> None:
        self.records = records_at(records)
        self.identify = identify
        self.generation = 0
        self._version = self.records.version()

    def grant(
        self,
        extension: str,
        permissions: Iterable[Permission | str],
        *,
        by: str | None = None,
        source: str = "api",
        budget: ModelBudget | None = None,
    ) -> list[Grant]:
        """Grant ``permissions`` (re-granting replaces the metadata and budget); ``budget`` applies to model ones."""
        now, who, identity = time.time(), by or current_user(), self.identify(extension)
        records = [
            GrantRecord(
                extension=extension,
                permission=text,
                granted_at=now,
                granted_by=who,
                source=source,
                budget=budget if text.startswith("model:") else None,
                identity=identity,
            )
            for text in _texts(permissions)
        ]
        self._write(lambda: self.records.grant(records))
        return [_grant(record) for record in records]

    def revoke(self, extension: str, permissions: Iterable[Permission | str]) -> list[str]:
        """Revoke ``permissions``; returns the texts that were granted and now are not."""
        texts = _texts(permissions)
        found = set(self._write(lambda: self.records.revoke(extension, texts)))
        return [t for t in texts if t in found]

    def revoke_all(self, extension: str) -> list[str]:
        """Revoke every grant of ``extension``; returns what was granted."""
        return self._write(lambda: self.records.revoke(extension, None))

    def grants(self, extension: str) -> tuple[Grant, ...]:
        """The grants that count: those given to the distribution that provides ``extension`` now."""
        identity = self.identify(extension)
        return tuple(_grant(r) for r in self.records.grants(extension) if r.identity == identity)

    def all_grants(self) -> dict[str, tuple[Grant, ...]]:
        """Every extension's grants, stale ones included."""
        found: dict[str, list[Grant]] = {}
        for record in self.records.grants():
            found.setdefault(record.extension, []).append(_grant(record))
        return {name: tuple(grants) for name, grants in found.items()}

    def stale(self) -> dict[str, tuple[Grant, ...]]:
        """Grants of distributions that no longer provide their extension's name (uninstalled or replaced)."""
        found: dict[str, tuple[Grant, ...]] = {}
        for name, grants in self.all_grants().items():
            identity = self.identify(name)
            if mine := tuple(g for g in grants if g.identity != identity):
                found[name] = mine
        return found

    def replaced_note(self, extension: str) -> str:
        """A sentence for a denial when ``extension`` has grants given to another distribution, else ''."""
        identity = self.identify(extension)
        others = sorted({str(r.identity) for r in self.records.grants(extension) if r.identity != identity})
        if not others:
            return ""
        now = f"{identity!r}, which provides it now" if identity else "what provides it now"
        return (
            f" Its earlier grants were given to the distribution {', '.join(map(repr, others))}, not to {now};"
            " grants are not inherited by another distribution (`symphony ext grants --prune` removes them)."
        )

    def trust_marks(self) -> dict[str, str | None]:
        """Every trust mark, stale ones included: name -> the identity trusted."""
        return {mark.extension: mark.identity for mark in self.records.trust_marks()}

    def stale_trust(self) -> dict[str, str | None]:
        """Trust marks of distributions that no longer provide the name: name -> the identity trusted."""
        return {name: identity for name, identity in self.trust_marks().items() if identity != self.identify(name)}

    def prune(self) -> tuple[dict[str, tuple[Grant, ...]], dict[str, str | None]]:
        """Delete stale grants and trust marks; returns what was deleted.

        A permission is granted once per extension, so revoking the stale
        texts removes exactly the stale grants.
        """
        grants, marks = self.stale(), self.stale_trust()

        def delete() -> None:
            for name, stale in grants.items():
                self.records.revoke(name, [grant.permission for grant in stale])
            for name in marks:
                self.records.untrust(name)

        self._write(delete)
        return grants, marks

    def trust(self, extension: str, *, by: str | None = None) -> None:
        mark = TrustMark(
            extension=extension,
            trusted_at=time.time(),
            trusted_by=by or current_user(),
            identity=self.identify(extension),
        )
        self._write(lambda: self.records.trust(mark))

    def untrust(self, extension: str) -> bool:
        """Remove the user's trust mark; False if there was none."""
        return self._write(lambda: self.records.untrust(extension))

    def trusted(self) -> frozenset[str]:
        """The extensions the user marked trusted, while the distribution trusted provides the name."""
        marks = self.trust_marks()
        return frozenset(name for name, identity in marks.items() if identity == self.identify(name))

    def _write(self, write: Callable[[], T]) -> T:
        """Run one write; this process's checkers see it at once (a new generation), others by :meth:`refresh`."""
        try:
            result = write()
        finally:
            self.generation += 1
        self._version = self.records.version()
        return result

    def refresh(self) -> bool:
        """Notice writes by other processes; True (and a new generation) if there were any since last asked."""
        version = self.records.version()
        changed = version != self._version
        self._version = version
        if changed:
            self.generation += 1
        return changed

    def texts(self, extension: str) -> Sequence[str]:
        return [grant.permission for grant in self.grants(extension)]
