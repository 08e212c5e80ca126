"""Optional capabilities a Pit port's provider may add: retrying from a node, run logs, artifact history.

They are not part of the ports, so a minimal provider stays small; callers that
want one reach it with ``port_as(context, port, Capability, user=...)`` (or an
``isinstance`` on the runtime-checkable Protocol) and degrade that one feature
when the provider lacks it, instead of reaching for a builtin's class.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import msgspec

from .._base import Base
from .._ids import ArtifactId, ExecutionId

__all__ = ["ArtifactHistory", "ArtifactLineage", "ArtifactVersion", "LineageStep", "RunLogs", "RunRetry"]


class ArtifactVersion(Base, frozen=True):
    """One named version of an artifact: ``name@version`` points at ``artifact_id``."""

    name: str
    version: int
    artifact_id: ArtifactId
    #: Unix seconds.
    created_at: float
    tags: list[str] = msgspec.field(default_factory=list)


class LineageStep(Base, frozen=True):
    """A run's node that output ``artifact_id`` from the ``inputs`` artifacts."""

    artifact_id: ArtifactId
    run_id: str
    node_id: str
    contribution: str
    contribution_version: str | None = None
    inputs: list[ArtifactId] = msgspec.field(default_factory=list)
    #: Unix seconds.
    created_at: float = 0.0


class ArtifactLineage(Base, frozen=True):
    """What produced an artifact and which node outputs used it, oldest first."""

    artifact_id: ArtifactId
    produced_by: list[LineageStep] = msgspec.field(default_factory=list)
    used_by: list[LineageStep] = msgspec.field(default_factory=list)


@runtime_checkable
class RunRetry(Protocol):
    """Retry a finished run from one node: a new run in which that node and its downstream run again.

    Provided by:
        The ``dag_tracker`` port's provider, optionally; builtin: plugin ``dag``.
        ``symphony ui`` answers 501 for retry when the provider lacks it.

    Lifetime:
        As the tracker's: the new run lives until it ends or the tracker closes.

    Threads and processes:
        Called from the host's event loop, like the tracker's other methods.

    Errors:
        NotFoundError for an unknown run or node, ValidationError for a run still running.

    Since:
        1.0
    """

    async def retry_from(self, execution_id: ExecutionId, node: str) -> ExecutionId:
        """Start a new run of the recorded run's workflow and inputs in which ``node`` and its downstream run again.

        The other nodes keep the recorded run's results; the new run names the old one as its parent.
        """
        ...


@runtime_checkable
class RunLogs(Protocol):
    """A run's log: its events as text lines, ``TIME TOPIC NODE DETAILS`` (``-`` for the run's own events).

    Provided by:
        The ``dag_tracker`` port's provider, optionally; builtin: plugin ``dag``
        (``<data_dir>/runs/<run>.log``, what ``symphony runs logs`` prints).

    Lifetime:
        A run's log grows while it runs and is kept after it ends, as long as the provider keeps its records.

    Threads and processes:
        Called from the host's event loop; another process may be appending to the log meanwhile.

    Errors:
        NotFoundError when the provider has no log of the run.

    Since:
        1.0
    """

    async def run_log(self, execution_id: ExecutionId, node: str | None = None) -> list[str]:
        """The run's log lines, oldest first, or only those of ``node``; NotFoundError when there is no log."""
        ...


@runtime_checkable
class ArtifactHistory(Protocol):
    """An artifact's named versions and lineage (which run's node produced it, from what, and what used it).

    Provided by:
        The ``artifact_store`` port's provider, optionally; builtin: plugin
        ``artifacts`` (its catalogue, as ``symphony artifacts history|lineage`` show).

    Lifetime:
        Versions and lineage live as long as the artifacts they name.

    Threads and processes:
        Called from the host's event loop; read-only.

    Errors:
        NotFoundError for an unknown artifact, ValidationError for a malformed id.

    Since:
        1.0
    """

    async def versions(self, artifact_id: ArtifactId) -> list[ArtifactVersion]:
        """Every version of every name pointing at ``artifact_id``, by name then version (oldest first)."""
        ...

    async def lineage(self, artifact_id: ArtifactId) -> ArtifactLineage:
        """What produced ``artifact_id`` and which node outputs used it; empty lists when nothing is recorded."""
        ...
