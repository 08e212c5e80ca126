"""PermissionRecordsPort: where extension grants, trust marks and the permission audit are kept (seed M1.6).

The permission checker itself stays in the host (it decides); this port only
keeps its records, so the data service can hold them with everything else.
Synchronous on purpose: the checker runs on hot, synchronous paths and commits
a denial before it returns it.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from .._base import Base
from .._permissions import ModelBudget

__all__ = ["DecisionRecord", "GrantRecord", "PermissionRecordsPort", "TrustMark"]


class GrantRecord(Base, frozen=True):
    """One granted permission (single target, canonical text) and where it came from."""

    extension: str
    permission: str
    granted_at: float
    granted_by: str
    source: str  # how it was granted: "symphony ext grant", "api", ...
    budget: ModelBudget | None = None  # model grants only
    identity: str | None = None  # the distribution it was granted to; None: not an installed distribution


class TrustMark(Base, frozen=True):
    """An extension the user marked trusted, and the distribution it was when marked."""

    extension: str
    trusted_at: float
    trusted_by: str
    identity: str | None = None


class DecisionRecord(Base, frozen=True):
    """One decision of the permission checker.  Never configuration values: only request targets."""

    at: float
    extension: str
    kind: str
    permission: str
    target: str
    decision: Literal["allowed", "denied"]
    rule: str
    reason: str
    run_id: str | None = None
    mode: Literal["enforce", "learn"] = "enforce"
    id: int | None = None  # set when read back


@runtime_checkable
class PermissionRecordsPort(Protocol):
    """The grants, trust marks and permission audit of the caller (each user has their own).

    Provided by:
        ``symphony_provide_permission_records``; builtin: plugin ``data`` (the
        data service, embedded or remote).  With no provider the host keeps them
        in its own SQLite file (``permissions.database``).

    Lifetime:
        One per host; records outlive it.

    Threads and processes:
        Synchronous and thread-safe: called from the event loop and from the
        audit's writer thread.  Writes are durable when a call returns.
        ``version`` changes whenever grants or trust marks change, in any
        process, so a host notices another's ``symphony ext grant``.

    Errors:
        DataError subclasses (NetworkError when a remote service cannot be
        reached; the checker then denies rather than guess).

    Since:
        1.0
    """

    def grant(self, grants: list[GrantRecord]) -> None:
        """Store ``grants``, replacing any of the same (extension, permission) with their new metadata and budget."""
        ...

    def revoke(self, extension: str, permissions: list[str] | None = None) -> list[str]:
        """Withdraw these permissions of ``extension`` (None: all of them); return those that were granted."""
        ...

    def grants(self, extension: str | None = None) -> list[GrantRecord]:
        """The grants of ``extension`` (None: of every extension), ordered by extension and permission."""
        ...

    def trust(self, mark: TrustMark) -> None:
        """Mark an extension trusted (replacing an earlier mark of the same name)."""
        ...

    def untrust(self, extension: str) -> bool:
        """Remove the trust mark of ``extension``; False when there was none."""
        ...

    def trust_marks(self) -> list[TrustMark]:
        """Every trust mark."""
        ...

    def version(self) -> int:
        """A number that changes whenever grants or trust marks change (cheap: called before checks)."""
        ...

    def record_decisions(self, decisions: list[DecisionRecord]) -> None:
        """Append decisions to the audit, in order, in one transaction."""
        ...

    def decisions(
        self,
        *,
        extension: str | None = None,
        decision: Literal["allowed", "denied"] | None = None,
        run_id: str | None = None,
        limit: int | None = 100,
    ) -> list[DecisionRecord]:
        """Recorded decisions, newest first, filtered."""
        ...
