"""The schema, as typed SQLAlchemy 2 models; migrations/ creates and evolves it (never ``create_all``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime, TypeDecorator

from symphony.hookspecs import new_id


def now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored timezone-aware and read back as UTC, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class User(Base):
    """A person or a service identity (role ``service``: the conductor, runs)."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)


class ApiToken(Base):
    """A bearer token: only its SHA-256 is stored, so a copy of the database grants nothing."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Workflow(Base):
    """A workflow's current version; ``version`` guards concurrent writers (optimistic versioning)."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_workflows_owner_name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class WorkflowVersion(Base):
    """Every version a workflow has had, the current one included."""

    __tablename__ = "workflow_versions"
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]
    author_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=now)


class WorkflowShare(Base):
    """A workflow shared with a user who does not own it, as ``viewer`` (read) or ``editor`` (also write)."""

    __tablename__ = "workflow_shares"
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))


class AuditEntry(Base):
    """One write: who, what, when, before and after.  Append-only: nothing updates or deletes a row."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_resource", "resource", "resource_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=now)
    actor: Mapped[str] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(16))
    resource: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class IdempotencyKey(Base):
    """The response to a write made with an ``Idempotency-Key``, stored in the write's own transaction."""

    __tablename__ = "idempotency_keys"
    actor: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    route: Mapped[str] = mapped_column(String(300))
    request_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)


class Run(Base):
    """A run of a workflow as the DAG tracker records it; times are epoch seconds, as the tracker keeps them.

    Documents (workflow, inputs, outputs, metrics) are the tracker's MessagePack, stored as it wrote them.
    """

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    workflow_id: Mapped[str] = mapped_column(String(200))
    workflow_name: Mapped[str] = mapped_column(String(200))
    document: Mapped[bytes] = mapped_column(LargeBinary)
    inputs: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), index=True)
    nodes_total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Double, index=True)
    updated_at: Mapped[float] = mapped_column(Double)
    finished_at: Mapped[float | None] = mapped_column(Double, index=True)
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))
    process_started: Mapped[float | None] = mapped_column(Double)  # a reused pid is not the run's process
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    failure_category: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(String(64))  # the run this one retries
    outputs: Mapped[bytes | None] = mapped_column(LargeBinary)
    metrics: Mapped[bytes | None] = mapped_column(LargeBinary)
    waiting: Mapped[bytes | None] = mapped_column(LargeBinary)
    prewarmed: Mapped[bytes | None] = mapped_column(LargeBinary)


class RunNode(Base):
    """A node that reached a final state in a run (its checkpoint), with its outputs inline or as an artifact id.

    On SQLite the table is its primary key's b-tree (``WITHOUT ROWID``): a checkpoint writes one page, not a row's
    and its key index's (migration 0005).
    """

    __tablename__ = "run_nodes"
    __table_args__ = ({"sqlite_with_rowid": False},)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    outputs: Mapped[bytes | None] = mapped_column(LargeBinary)
    outputs_ref: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    cached: Mapped[bool] = mapped_column(Boolean)
    queue_wait: Mapped[float] = mapped_column(Double)
    run_time: Mapped[float] = mapped_column(Double)
    finished_at: Mapped[float] = mapped_column(Double)


class NodeCacheEntry(Base):
    """Outputs of a successful execution by cache key; it outlives its run (no foreign key), like any cache."""

    __tablename__ = "node_cache"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    uses: Mapped[str] = mapped_column(String(300))
    outputs: Mapped[bytes | None] = mapped_column(LargeBinary)
    outputs_ref: Mapped[str | None] = mapped_column(String(200))
    run_id: Mapped[str] = mapped_column(String(64))
    node_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Double, index=True)


class ExtensionGrant(Base):
    """One permission (single target, canonical text) an owner granted an extension; model grants may have a budget."""

    __tablename__ = "extension_grants"
    __table_args__ = (UniqueConstraint("owner_id", "extension", "permission", name="uq_extension_grants"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    extension: Mapped[str] = mapped_column(String(200))
    permission: Mapped[str] = mapped_column(String(2000))
    granted_at: Mapped[float] = mapped_column(Double)
    granted_by: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    budget_calls: Mapped[int | None] = mapped_column(Integer)
    budget_tokens: Mapped[int | None] = mapped_column(Integer)
    budget_cost: Mapped[float | None] = mapped_column(Double)
    identity: Mapped[str | None] = mapped_column(String(500))


class ExtensionTrust(Base):
    """An extension its owner marked trusted, and the distribution it was when marked."""

    __tablename__ = "extension_trust"
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    extension: Mapped[str] = mapped_column(String(200), primary_key=True)
    trusted_at: Mapped[float] = mapped_column(Double)
    trusted_by: Mapped[str] = mapped_column(String(200))
    identity: Mapped[str | None] = mapped_column(String(500))


class PermissionVersion(Base):
    """Per owner, a counter bumped in the transaction of every grant or trust change (hosts poll it to notice them)."""

    __tablename__ = "permission_versions"
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class PermissionDecision(Base):
    """One decision of a host's permission checker, append-only (it is an audit itself: not in audit_log)."""

    __tablename__ = "permission_audit"
    __table_args__ = (
        Index("ix_permission_audit_owner", "owner_id", "id"),
        Index("ix_permission_audit_extension", "owner_id", "extension", "id"),
        Index("ix_permission_audit_decision", "owner_id", "decision", "id"),
        Index("ix_permission_audit_run", "owner_id", "run_id", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[float] = mapped_column(Double)
    extension: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    permission: Mapped[str] = mapped_column(String(2000))
    target: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(String(2000))
    reason: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8))


# The tables the hot paths write with Core statements: rows nobody reads back in the request need no unit of work.
AUDIT_LOG = cast(Table, AuditEntry.__table__)
IDEMPOTENCY_KEYS = cast(Table, IdempotencyKey.__table__)
WORKFLOWS = cast(Table, Workflow.__table__)
WORKFLOW_VERSIONS = cast(Table, WorkflowVersion.__table__)
RUNS = cast(Table, Run.__table__)
RUN_NODES = cast(Table, RunNode.__table__)
NODE_CACHE = cast(Table, NodeCacheEntry.__table__)
EXTENSION_GRANTS = cast(Table, ExtensionGrant.__table__)
EXTENSION_TRUST = cast(Table, ExtensionTrust.__table__)
PERMISSION_VERSIONS = cast(Table, PermissionVersion.__table__)
PERMISSION_AUDIT = cast(Table, PermissionDecision.__table__)
