"""The grant store: what the user granted each extension, apart from what its manifest declares.

Every grant and trust mark belongs to the distribution it was given to (its
identity, :mod:`._identity`): it counts only while that distribution provides
the name, so a different one that later takes the name after ``pip
uninstall`` inherits nothing.  Grants of a distribution that is gone are
*stale*: listed by :meth:`GrantStore.stale` and removed by :meth:`GrantStore.prune`.

Grants are stored one target per row in text form (``file:read:/x/**``), with
when, by whom and through what they were granted, and for model grants an
optional budget.  Each write is one transaction that also bumps a stored
version; :attr:`GrantStore.generation` changes on every write in this
process, and :meth:`GrantStore.refresh` notices writes by other processes
(``symphony ext grant`` while a host runs), so checkers keep compiled grants
until either moves.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec
from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import QueryableAttribute, Session

from symphony.hookspecs import ModelAccess, ModelBudget, Permission, format_permission, parse_permission, single_targets

from ._db import GrantRow, StateRow, TrustRow, open_engine
from ._identity import IdentityLookup, no_identity

__all__ = ["Grant", "GrantStore", "current_user"]


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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


def _grant(row: GrantRow) -> Grant:
    has_budget = any(v is not None for v in (row.budget_calls, row.budget_tokens, row.budget_cost))
    budget = ModelBudget(calls=row.budget_calls, tokens=row.budget_tokens, cost=row.budget_cost) if has_budget else None
    return Grant(
        extension=row.extension,
        permission=row.permission,
        granted_at=row.granted_at,
        granted_by=row.granted_by,
        source=row.source,
        budget=budget,
        identity=row.identity,
    )


def _same(column: QueryableAttribute[str | None], identity: str | None) -> ColumnElement[bool]:
    return column.is_(None) if identity is None else column == identity


class GrantStore:
    """Grants and trust marks in the permissions database (see :mod:`._db`)."""

    def __init__(self, database: Path, *, identify: IdentityLookup = no_identity) -> None:
        self.database = database
        self.identify = identify
        self._engine = open_engine(database)
        self.generation = 0
        self._version = self._stored_version()

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
        texts = _texts(permissions)
        now, who, identity = time.time(), by or current_user(), self.identify(extension)
        with Session(self._engine) as session, session.begin():
            existing = {
                row.permission: row
                for row in session.scalars(
                    select(GrantRow).where(GrantRow.extension == extension, GrantRow.permission.in_(texts))
                )
            }
            rows = []
            for permission_text in texts:
                row = existing.get(permission_text) or GrantRow(extension=extension, permission=permission_text)
                model_budget = budget if permission_text.startswith("model:") else None
                row.granted_at, row.granted_by, row.source, row.identity = now, who, source, identity
                row.budget_calls = model_budget.calls if model_budget else None
                row.budget_tokens = model_budget.tokens if model_budget else None
                row.budget_cost = model_budget.cost if model_budget else None
                session.add(row)
                rows.append(row)
            session.flush()
            granted = [_grant(row) for row in rows]
            self._bump(session)
        self.generation += 1
        return granted

    def revoke(self, extension: str, permissions: Iterable[Permission | str]) -> list[str]:
        """Revoke ``permissions``; returns the texts that were granted and now are not."""
        texts = _texts(permissions)
        with Session(self._engine) as session, session.begin():
            found = list(
                session.scalars(
                    select(GrantRow.permission).where(GrantRow.extension == extension, GrantRow.permission.in_(texts))
                )
            )
            session.execute(delete(GrantRow).where(GrantRow.extension == extension, GrantRow.permission.in_(found)))
            self._bump(session)
        self.generation += 1
        return [t for t in texts if t in found]

    def revoke_all(self, extension: str) -> list[str]:
        """Revoke every grant of ``extension``; returns what was granted."""
        with Session(self._engine) as session, session.begin():
            found = list(session.scalars(select(GrantRow.permission).where(GrantRow.extension == extension)))
            session.execute(delete(GrantRow).where(GrantRow.extension == extension))
            self._bump(session)
        self.generation += 1
        return found

    def grants(self, extension: str) -> tuple[Grant, ...]:
        """The grants that count: those given to the distribution that provides ``extension`` now."""
        identity = self.identify(extension)
        with Session(self._engine) as session:
            rows = session.scalars(
                select(GrantRow)
                .where(GrantRow.extension == extension, _same(GrantRow.identity, identity))
                .order_by(GrantRow.id)
            )
            return tuple(_grant(row) for row in rows)

    def all_grants(self) -> dict[str, tuple[Grant, ...]]:
        """Every extension's grants, stale ones included."""
        found: dict[str, list[Grant]] = {}
        with Session(self._engine) as session:
            for row in session.scalars(select(GrantRow).order_by(GrantRow.extension, GrantRow.id)):
                found.setdefault(row.extension, []).append(_grant(row))
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
        with Session(self._engine) as session:
            others = sorted(
                {
                    str(other)
                    for other in session.scalars(
                        select(GrantRow.identity).where(
                            GrantRow.extension == extension, ~_same(GrantRow.identity, identity)
                        )
                    )
                }
            )
        if not others:
            return ""
        now = f"{identity!r}, which provides it now" if identity else "what provides it now"
        return (
            f" Its earlier grants were given to the distribution {', '.join(map(repr, others))}, not to {now};"
            " grants are not inherited by another distribution (`symphony ext grants --prune` removes them)."
        )

    def trust_marks(self) -> dict[str, str | None]:
        """Every trust mark, stale ones included: name -> the identity trusted."""
        with Session(self._engine) as session:
            return {row.extension: row.identity for row in session.scalars(select(TrustRow))}

    def stale_trust(self) -> dict[str, str | None]:
        """Trust marks of distributions that no longer provide the name: name -> the identity trusted."""
        return {name: identity for name, identity in self.trust_marks().items() if identity != self.identify(name)}

    def prune(self) -> tuple[dict[str, tuple[Grant, ...]], dict[str, str | None]]:
        """Delete stale grants and trust marks; returns what was deleted."""
        grants, marks = self.stale(), self.stale_trust()
        with Session(self._engine) as session, session.begin():
            for name, stale in grants.items():
                for grant in stale:
                    session.execute(
                        delete(GrantRow).where(
                            GrantRow.extension == name,
                            GrantRow.permission == grant.permission,
                            _same(GrantRow.identity, grant.identity),
                        )
                    )
            for name, identity in marks.items():
                session.execute(delete(TrustRow).where(TrustRow.extension == name, _same(TrustRow.identity, identity)))
            self._bump(session)
        self.generation += 1
        return grants, marks

    def trust(self, extension: str, *, by: str | None = None) -> None:
        identity = self.identify(extension)
        with Session(self._engine) as session, session.begin():
            session.merge(
                TrustRow(
                    extension=extension, trusted_at=time.time(), trusted_by=by or current_user(), identity=identity
                )
            )
            self._bump(session)
        self.generation += 1

    def untrust(self, extension: str) -> bool:
        """Remove the user's trust mark; False if there was none."""
        with Session(self._engine) as session, session.begin():
            result = session.execute(delete(TrustRow).where(TrustRow.extension == extension))
            self._bump(session)
        self.generation += 1
        return bool(getattr(result, "rowcount", 0))

    def trusted(self) -> frozenset[str]:
        """The extensions the user marked trusted, while the distribution trusted provides the name."""
        with Session(self._engine) as session:
            marks = [(row.extension, row.identity) for row in session.scalars(select(TrustRow))]
        return frozenset(name for name, identity in marks if identity == self.identify(name))

    def _bump(self, session: Session) -> None:
        row = session.get(StateRow, "grants_version") or StateRow(key="grants_version", value=0)
        row.value += 1
        session.add(row)
        session.flush()
        self._version = row.value

    def _stored_version(self) -> int:
        with Session(self._engine) as session:
            row = session.get(StateRow, "grants_version")
            return row.value if row else 0

    def refresh(self) -> bool:
        """Notice writes by other processes; True (and a new generation) if there were any since last asked."""
        version = self._stored_version()
        changed = version != self._version
        self._version = version
        if changed:
            self.generation += 1
        return changed

    def texts(self, extension: str) -> Sequence[str]:
        return [grant.permission for grant in self.grants(extension)]
