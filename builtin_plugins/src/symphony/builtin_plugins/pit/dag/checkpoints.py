"""The checkpoint manager: runs, node results and the node cache, durable in SQLite.

One database (``<data_dir>/runs.db`` by default) in WAL mode, through SQLAlchemy 2's
typed ORM with explicit sessions.  Every write is one transaction, so a process
killed at any moment (``kill -9``) leaves each node either fully recorded or not
at all.  The tracker writes the nodes that finished in one scheduling step
together (batched), and always before any node that depends on them starts:
a node's result is durable before anything can have used it.

Node results, the hot path, go through one long-lived writer connection with
Core statements built from the ORM tables (half the cost of a Session per
write); everything else uses a short Session.

With ``synchronous = "normal"`` (the default) a commit is durable against a
killed process but not a power cut; ``"full"`` adds an fsync per commit.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import (
    Connection,
    Engine,
    ForeignKey,
    LargeBinary,
    String,
    create_engine,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from symphony.hookspecs import DataError, NotFoundError, ValidationError

__all__ = ["CacheRecord", "CheckpointStore", "NodeRecord", "NodeResult", "RunRecord", "this_process"]


class _Base(DeclarativeBase):
    pass


class RunRecord(_Base):
    """One run: the workflow it ran (as written), its inputs, where it stands and who runs it."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workflow_id: Mapped[str]
    workflow_name: Mapped[str]
    document: Mapped[bytes] = mapped_column(LargeBinary)  # the Workflow, MessagePack
    inputs: Mapped[bytes] = mapped_column(LargeBinary)  # MessagePack
    state: Mapped[str] = mapped_column(String(16), index=True)
    nodes_total: Mapped[int]
    created_at: Mapped[float] = mapped_column(index=True)
    updated_at: Mapped[float]
    finished_at: Mapped[float | None]
    pid: Mapped[int | None]
    hostname: Mapped[str | None]
    process_started: Mapped[float | None]  # the process's start time: a reused pid is not the run's process
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None]
    outputs: Mapped[bytes | None] = mapped_column(LargeBinary)  # MessagePack, when finished
    metrics: Mapped[bytes | None] = mapped_column(LargeBinary)  # MessagePack run totals
    failure_category: Mapped[str | None]  # the failed node's error category (data.validation: bad input)
    parent_id: Mapped[str | None]  # the run this one retries (`symphony runs retry`)
    waiting: Mapped[bytes | None] = mapped_column(LargeBinary)  # MessagePack: node -> why it waits for resources
    prewarmed: Mapped[bytes | None] = mapped_column(LargeBinary)  # MessagePack: models its lookahead prewarmed


class NodeRecord(_Base):
    """A node that reached a final state in a run, with its outputs (inline or as an artifact id)."""

    __tablename__ = "nodes"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    outputs: Mapped[bytes | None] = mapped_column(LargeBinary)
    outputs_ref: Mapped[str | None]
    error: Mapped[str | None]
    detail: Mapped[str | None]
    cached: Mapped[bool]
    queue_wait: Mapped[float]
    run_time: Mapped[float]
    finished_at: Mapped[float]


class CacheRecord(_Base):
    """Outputs of a successful execution, by cache key (see cache.py)."""

    __tablename__ = "node_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    uses: Mapped[str]
    outputs: Mapped[bytes | None] = mapped_column(LargeBinary)
    outputs_ref: Mapped[str | None]
    run_id: Mapped[str]
    node_id: Mapped[str]
    created_at: Mapped[float]


@dataclass(frozen=True, slots=True)
class NodeResult:
    """What the tracker checkpoints for one node."""

    node_id: str
    state: str  # succeeded, failed, skipped, cancelled
    attempts: int = 0
    outputs: bytes | None = None
    outputs_ref: str | None = None
    error: str | None = None
    detail: str | None = None
    cached: bool = False
    queue_wait: float = 0.0
    run_time: float = 0.0
    cache_key: str | None = None
    uses: str = ""


_NODE_COLUMNS = (
    "state",
    "attempts",
    "outputs",
    "outputs_ref",
    "error",
    "detail",
    "cached",
    "queue_wait",
    "run_time",
    "finished_at",
)


class CheckpointStore:
    """Runs, node checkpoints and the node cache in one SQLite database."""

    def __init__(self, path: Path, *, synchronous: str = "normal") -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataError(f"Cannot create the run database's directory {path.parent}: {error.strerror}.") from None
        self.engine: Engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
        self._writer: Connection | None = None
        level = "FULL" if synchronous == "full" else "NORMAL"

        @event.listens_for(self.engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={level}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        try:
            _Base.metadata.create_all(self.engine)
            _add_missing_columns(self.engine)
        except SQLAlchemyError as error:
            raise DataError(f"Cannot open the run database {path}: {error.__cause__ or error}.") from None
        upsert = insert(NodeRecord)
        self._upsert = upsert.on_conflict_do_update(
            index_elements=["run_id", "node_id"], set_={name: upsert.excluded[name] for name in _NODE_COLUMNS}
        )
        self._cache_put = insert(CacheRecord).on_conflict_do_nothing(index_elements=["key"])

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.engine.dispose()

    # -- runs -----------------------------------------------------------------------

    def create_run(self, record: RunRecord) -> None:
        with Session(self.engine) as session, session.begin():
            session.add(record)

    def claim(self, run_id: str, inputs: bytes, forget: Collection[str] = ()) -> None:
        """Mark ``run_id`` as running in this process (for a resume), with ``inputs``.

        The checkpoints of the nodes in ``forget`` (those that run again on new inputs)
        are deleted in the same transaction: no later resume can restore outputs made
        from the old inputs.
        """
        values = {
            "inputs": inputs,
            "state": "running",
            "error": None,
            "failure_category": None,
            "cancel_requested": False,
            "finished_at": None,
            "updated_at": time.time(),
            **this_process(),
        }
        with Session(self.engine) as session, session.begin():
            if forget:
                session.execute(delete(NodeRecord).where(NodeRecord.run_id == run_id, NodeRecord.node_id.in_(forget)))
            session.execute(update(RunRecord).where(RunRecord.id == run_id).values(**values))

    def update_run(self, run_id: str, **values: Any) -> None:
        values["updated_at"] = time.time()
        with Session(self.engine) as session, session.begin():
            session.execute(update(RunRecord).where(RunRecord.id == run_id).values(**values))

    def run(self, run_id: str) -> RunRecord:
        """The run whose id is, or starts with, ``run_id``."""
        with Session(self.engine, expire_on_commit=False) as session:
            found = session.get(RunRecord, run_id)
            if found is not None:
                return found
            if len(run_id) >= 4 and run_id.isalnum():
                matches = session.scalars(select(RunRecord).where(RunRecord.id.startswith(run_id)).limit(2)).all()
                if len(matches) == 1:
                    return matches[0]
                if matches:
                    raise ValidationError(f"Run id prefix {run_id!r} is ambiguous; give more characters.")
        raise NotFoundError(f"No run {run_id!r} in {self.path}; `symphony runs list` shows the runs.")

    def runs(self, limit: int = 20) -> Sequence[RunRecord]:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.scalars(select(RunRecord).order_by(RunRecord.created_at.desc()).limit(limit)).all()

    def log_path(self, run_id: str) -> Path:
        """The run's log file: one line per event, next to the database."""
        return self.path.parent / "runs" / f"{run_id}.log"

    def cancel_requested(self, run_id: str) -> bool:
        with Session(self.engine) as session:
            return bool(session.scalar(select(RunRecord.cancel_requested).where(RunRecord.id == run_id)))

    # -- nodes ----------------------------------------------------------------------

    def save_nodes(self, run_id: str, results: Iterable[NodeResult]) -> None:
        """Record ``results`` (and cache the cacheable ones) in one transaction."""
        now = time.time()
        rows = []
        cached = []
        for r in results:
            rows.append(
                {
                    "run_id": run_id,
                    "node_id": r.node_id,
                    "state": r.state,
                    "attempts": r.attempts,
                    "outputs": r.outputs,
                    "outputs_ref": r.outputs_ref,
                    "error": r.error,
                    "detail": r.detail,
                    "cached": r.cached,
                    "queue_wait": r.queue_wait,
                    "run_time": r.run_time,
                    "finished_at": now,
                }
            )
            if r.cache_key is not None and r.state == "succeeded" and not r.cached:
                cached.append(
                    {
                        "key": r.cache_key,
                        "uses": r.uses,
                        "outputs": r.outputs,
                        "outputs_ref": r.outputs_ref,
                        "run_id": run_id,
                        "node_id": r.node_id,
                        "created_at": now,
                    }
                )
        if not rows:
            return
        if self._writer is None:
            self._writer = self.engine.connect()
        writer = self._writer
        try:
            with writer.begin():
                writer.execute(self._upsert, rows)
                if cached:
                    writer.execute(self._cache_put, cached)
        except SQLAlchemyError as error:
            raise DataError(f"Cannot write checkpoints to {self.path}: {error.__cause__ or error}.") from None

    def copy_nodes(self, source: str, target: str, node_ids: Collection[str]) -> None:
        """Record the nodes ``node_ids`` of run ``source`` in run ``target`` as they are (a retry restores them)."""
        with Session(self.engine) as session, session.begin():
            found = select(NodeRecord).where(NodeRecord.run_id == source, NodeRecord.node_id.in_(node_ids))
            for node in session.scalars(found).all():
                columns = {name: getattr(node, name) for name in _NODE_COLUMNS}
                session.add(NodeRecord(run_id=target, node_id=node.node_id, **columns))

    def nodes(self, run_id: str) -> dict[str, NodeRecord]:
        with Session(self.engine, expire_on_commit=False) as session:
            return {n.node_id: n for n in session.scalars(select(NodeRecord).where(NodeRecord.run_id == run_id))}

    def cached(self, key: str) -> CacheRecord | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(CacheRecord, key)


def this_process() -> dict[str, Any]:
    """The run record's fields that name the current process: pid, host and start time."""
    return {
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "process_started": psutil.Process().create_time(),
    }


def _add_missing_columns(engine: Engine) -> None:
    """Give a database made by an earlier version the columns added since (all nullable)."""
    with engine.begin() as connection:
        for table in _Base.metadata.sorted_tables:
            present = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table.name})")}
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(engine.dialect)
                    connection.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
