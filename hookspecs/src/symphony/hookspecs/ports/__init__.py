"""The ports of the seed as ``typing.Protocol`` classes.

A port is what the rest of the system calls; a plugin provides it through the
matching ``symphony_provide_*`` hook.  ``PORT_PROTOCOLS`` is the registry of
every port's name (``PortName``) and Protocol; ``HostContext.port`` is typed by
it.  The hot path calls the resolved object directly, so hook dispatch never
dominates a workflow's cost.
"""

from ._capabilities import methods_of, port_as
from ._component import AsyncComponent, HostContext
from ._conductor import ConductorPort, ConductorStatus, OrchestrationRequest, OrchestrationResult
from ._data import (
    AuditRecord,
    CreateTokenRequest,
    CreateUserRequest,
    CreateWorkflowRequest,
    DataAccessPort,
    NewToken,
    Page,
    TokenRecord,
    UpdateWorkflowRequest,
    User,
    WorkflowRecord,
    WorkflowVersionRecord,
)
from ._editing import BufferChange, BufferInfo, Position, TextEdit, TextEditingPort
from ._extension import ExtensionPort
from ._ipc import Connection, Handler, Listener, MessageBus, Subscription, Transport
from ._language import CompletionItem, Diagnostic, LanguagePort, Location
from ._permission_records import DecisionRecord, GrantRecord, PermissionRecordsPort, TrustMark
from ._pit import (
    ArbitrationEnginePort,
    ArtifactInfo,
    ArtifactStorePort,
    DagTrackerPort,
    ExecutionStatus,
    ModelHandle,
    ModelState,
    ModelStatus,
    PitPort,
    PoolManagerPort,
    PoolStatus,
    ResourceGrant,
    ResourceRequest,
    RunOutcome,
    RunSink,
    StaleManagerPort,
    StaleReport,
    WaitExplanation,
)
from ._pit_capabilities import ArtifactHistory, ArtifactLineage, ArtifactVersion, LineageStep, RunLogs, RunRetry
from ._prevalidation import PreValidationPort
from ._registry import PORT_PROTOCOLS, PortName
from ._run_records import CacheEntry, NewRun, NodeCheckpoint, RunProcess, RunRecord, RunSummary, RunUpdate

__all__ = [
    "PORT_PROTOCOLS",
    "ArbitrationEnginePort",
    "ArtifactHistory",
    "ArtifactInfo",
    "ArtifactLineage",
    "ArtifactStorePort",
    "ArtifactVersion",
    "AsyncComponent",
    "AuditRecord",
    "BufferChange",
    "BufferInfo",
    "CacheEntry",
    "CompletionItem",
    "ConductorPort",
    "ConductorStatus",
    "Connection",
    "CreateTokenRequest",
    "CreateUserRequest",
    "CreateWorkflowRequest",
    "DagTrackerPort",
    "DataAccessPort",
    "DecisionRecord",
    "Diagnostic",
    "ExecutionStatus",
    "ExtensionPort",
    "GrantRecord",
    "Handler",
    "HostContext",
    "LanguagePort",
    "LineageStep",
    "Listener",
    "Location",
    "MessageBus",
    "ModelHandle",
    "ModelState",
    "ModelStatus",
    "NewRun",
    "NewToken",
    "NodeCheckpoint",
    "OrchestrationRequest",
    "OrchestrationResult",
    "Page",
    "PermissionRecordsPort",
    "PitPort",
    "PoolManagerPort",
    "PoolStatus",
    "PortName",
    "Position",
    "PreValidationPort",
    "ResourceGrant",
    "ResourceRequest",
    "RunLogs",
    "RunOutcome",
    "RunProcess",
    "RunRecord",
    "RunRetry",
    "RunSink",
    "RunSummary",
    "RunUpdate",
    "StaleManagerPort",
    "StaleReport",
    "Subscription",
    "TextEdit",
    "TextEditingPort",
    "TokenRecord",
    "Transport",
    "TrustMark",
    "UpdateWorkflowRequest",
    "User",
    "WaitExplanation",
    "WorkflowRecord",
    "WorkflowVersionRecord",
    "methods_of",
    "port_as",
]
