"""Named versions and lineage over the store's content ids, in the store's own database.

A name's versions are 1, 2, 3...; each points at a content id.  Putting content
under a name whose latest version already points at it adds no version (its tags
join the latest's), so re-running a publish step is idempotent.  Numbers are taken
inside one ``INSERT ... SELECT``, so two processes naming at once get distinct ones.

Lineage rows say which run, node and contribution (with its installed version)
produced an artifact from which input artifacts; ``lineage_inputs`` indexes the
inputs, so "what produced this" and "what used this" are one indexed query each.
Every version's artifact and every artifact with lineage is a GC root.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, cast

import msgspec
from sqlalchemy import (
    JSON,
    CursorResult,
    ForeignKey,
    Integer,
    Select,
    String,
    exists,
    func,
    literal,
    select,
    union,
    update,
)
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Mapped, mapped_column

from symphony.hookspecs import ArtifactId, NotFoundError, ValidationError
from symphony.hookspecs.ports import ArtifactLineage, ArtifactVersion, LineageStep

from .db import Base, Database

__all__ = ["Catalog", "Lineage", "Version", "is_content_id"]

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")
_CONTENT: Final = re.compile(r"sha256:[0-9a-f]{64}")


class Version(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a named artifact."""

    name: str
    version: int
    artifact_id: str
    created_at: float
    tags: list[str] = msgspec.field(default_factory=list)
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class Lineage(msgspec.Struct, frozen=True, kw_only=True):
    """How an artifact was produced: by which run's node, with which contribution, from which artifacts."""

    artifact_id: str
    run_id: str
    node_id: str
    contribution: str
    contribution_version: str | None
    inputs: list[str]
    created_at: float = 0.0


class _VersionRow(Base):
    __tablename__ = "versions"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    artifact_id: Mapped[str] = mapped_column(String(71), index=True)
    created_at: Mapped[float]
    tags: Mapped[list[str]] = mapped_column(JSON)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)


class _LineageRow(Base):
    __tablename__ = "lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    artifact_id: Mapped[str] = mapped_column(String(71), index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    node_id: Mapped[str]
    contribution: Mapped[str]
    contribution_version: Mapped[str | None]
    inputs: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[float]


class _LineageInputRow(Base):
    __tablename__ = "lineage_inputs"

    lineage_id: Mapped[int] = mapped_column(ForeignKey("lineage.id", ondelete="CASCADE"), primary_key=True)
    input_id: Mapped[str] = mapped_column(String(71), primary_key=True, index=True)


def is_content_id(ref: str) -> bool:
    """Whether ``ref`` is a content id (``sha256:`` and 64 hex digits) rather than a name."""
    return _CONTENT.fullmatch(ref) is not None


def _checked_name(name: str) -> str:
    if _NAME.fullmatch(name) is None:
        raise ValidationError(
            f"Invalid artifact name {name!r}: use 1-200 letters, digits, '.', '_', '-' or '/', starting with a"
            " letter or digit (no '@', which separates the version: NAME@3, NAME@latest)."
        )
    return name


class Catalog:
    """Names, versions and lineage of one store (see the module docstring)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        database.create_tables()  # this module's tables, when the database was opened before it was imported

    # -- versions -------------------------------------------------------------------

    def name(
        self,
        name: str,
        artifact_id: str,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> Version:
        """Point ``name``'s next version at ``artifact_id``, or return its latest when that already does."""
        _checked_name(name)
        if not is_content_id(artifact_id):
            raise ValidationError(f"Invalid artifact id {artifact_id!r}: expected 'sha256:' and 64 hex digits.")
        latest = select(func.max(_VersionRow.version)).where(_VersionRow.name == name).scalar_subquery()
        same = exists().where(
            _VersionRow.name == name, _VersionRow.version == latest, _VersionRow.artifact_id == artifact_id
        )
        row = select(
            literal(name),
            func.coalesce(latest, 0) + 1,
            literal(artifact_id),
            literal(time.time()),
            literal(sorted(set(tags)), JSON),
            literal(dict(metadata or {}), JSON),
        ).where(~same)
        columns = ["name", "version", "artifact_id", "created_at", "tags", "metadata"]
        with self.database.session() as session:
            inserted = cast(CursorResult[Any], session.execute(insert(_VersionRow).from_select(columns, row))).rowcount
            found = session.scalars(
                select(_VersionRow).where(_VersionRow.name == name).order_by(_VersionRow.version.desc()).limit(1)
            ).one()
            if not inserted and not set(tags) <= set(found.tags):
                merged = sorted({*found.tags, *tags})
                session.execute(
                    update(_VersionRow)
                    .where(_VersionRow.name == name, _VersionRow.version == found.version)
                    .values(tags=merged)
                )
                found.tags = merged
            return _version(found)

    def history(self, name: str) -> list[Version]:
        """Every version of ``name``, oldest first; NotFoundError when it has none."""
        with self.database.session(readonly=True) as session:
            rows = session.scalars(
                select(_VersionRow).where(_VersionRow.name == _checked_name(name)).order_by(_VersionRow.version)
            ).all()
            found = [_version(row) for row in rows]
        if not found:
            raise NotFoundError(f"No artifact named {name!r}; name one with `symphony artifacts put FILE --name NAME`.")
        return found

    def version(self, ref: str) -> Version:
        """The version ``NAME``, ``NAME@latest`` or ``NAME@N`` refers to."""
        name, _, wanted = ref.partition("@")
        history = self.history(name)
        if wanted in ("", "latest"):
            return history[-1]
        if not wanted.isdigit() or not 1 <= int(wanted) <= len(history):
            raise NotFoundError(
                f"No version {wanted!r} of artifact {name!r}: it has versions 1 to {len(history)}"
                f" (use {name}@N or {name}@latest)."
            )
        return history[int(wanted) - 1]

    def resolve(self, ref: str) -> ArtifactId:
        """The content id a ref names: a content id itself, or a name with an optional ``@N``/``@latest``."""
        if ref.startswith("sha256:"):
            if not is_content_id(ref):
                raise ValidationError(f"Invalid artifact id {ref!r}: expected 'sha256:' and 64 hex digits.")
            return ArtifactId(ref)
        return ArtifactId(self.version(ref).artifact_id)

    def names_of(self, artifact_id: str) -> list[Version]:
        """Every version pointing at ``artifact_id``, by name then version."""
        with self.database.session(readonly=True) as session:
            rows = session.scalars(
                select(_VersionRow)
                .where(_VersionRow.artifact_id == artifact_id)
                .order_by(_VersionRow.name, _VersionRow.version)
            ).all()
            return [_version(row) for row in rows]

    # -- lineage --------------------------------------------------------------------

    def record(self, entries: Iterable[Lineage]) -> None:
        """Record lineage in one transaction; recording the same (artifact, run, node) again adds nothing."""
        with self.database.session() as session:
            for entry in entries:
                known = session.scalar(
                    select(_LineageRow.id).where(
                        _LineageRow.artifact_id == entry.artifact_id,
                        _LineageRow.run_id == entry.run_id,
                        _LineageRow.node_id == entry.node_id,
                    )
                )
                if known is not None:
                    continue
                row = _LineageRow(
                    artifact_id=entry.artifact_id,
                    run_id=entry.run_id,
                    node_id=entry.node_id,
                    contribution=entry.contribution,
                    contribution_version=entry.contribution_version,
                    inputs=list(entry.inputs),
                    created_at=entry.created_at or time.time(),
                )
                session.add(row)
                session.flush()
                session.add_all(_LineageInputRow(lineage_id=row.id, input_id=i) for i in dict.fromkeys(entry.inputs))

    def produced(self, artifact_id: str) -> list[Lineage]:
        """What produced ``artifact_id`` and from what: every run and node that output it, oldest first."""
        return self._lineage(select(_LineageRow).where(_LineageRow.artifact_id == artifact_id))

    def used_by(self, artifact_id: str) -> list[Lineage]:
        """What used ``artifact_id``: every node output computed with it as an input, oldest first."""
        return self._lineage(
            select(_LineageRow)
            .join(_LineageInputRow, _LineageInputRow.lineage_id == _LineageRow.id)
            .where(_LineageInputRow.input_id == artifact_id)
        )

    def of_run(self, run_id: str) -> list[Lineage]:
        """Every output one run recorded, in the order its nodes finished."""
        return self._lineage(select(_LineageRow).where(_LineageRow.run_id == run_id))

    # -- the ArtifactHistory capability (what the store serves beyond the port) ----------

    def versions_of(self, artifact_id: str) -> list[ArtifactVersion]:
        """Every version of each name pointing at ``artifact_id``, by name then version."""
        names = dict.fromkeys(version.name for version in self.names_of(artifact_id))
        return [
            ArtifactVersion(
                name=v.name,
                version=v.version,
                artifact_id=ArtifactId(v.artifact_id),
                created_at=v.created_at,
                tags=list(v.tags),
            )
            for name in names
            for v in self.history(name)
        ]

    def lineage_of(self, artifact_id: str) -> ArtifactLineage:
        """What produced ``artifact_id`` and what used it, as the SDK's struct."""

        def steps(entries: list[Lineage]) -> list[LineageStep]:
            return [msgspec.convert(msgspec.to_builtins(entry), LineageStep) for entry in entries]

        return ArtifactLineage(
            artifact_id=ArtifactId(artifact_id),
            produced_by=steps(self.produced(artifact_id)),
            used_by=steps(self.used_by(artifact_id)),
        )

    def _lineage(self, query: Select[_LineageRow]) -> list[Lineage]:
        with self.database.session(readonly=True) as session:
            rows = session.scalars(query.order_by(_LineageRow.id)).all()
            return [msgspec.convert(row, Lineage, from_attributes=True) for row in rows]

    # -- garbage collection ---------------------------------------------------------------

    def roots(self) -> list[ArtifactId]:
        """GC roots: every version's artifact and every run output lineage records."""
        with self.database.session(readonly=True) as session:
            query = union(select(_VersionRow.artifact_id), select(_LineageRow.artifact_id))
            return [ArtifactId(artifact_id) for (artifact_id,) in session.execute(query)]


def _version(row: _VersionRow) -> Version:
    return Version(
        name=row.name,
        version=row.version,
        artifact_id=row.artifact_id,
        created_at=row.created_at,
        tags=list(row.tags),
        metadata=dict(row.meta),
    )
