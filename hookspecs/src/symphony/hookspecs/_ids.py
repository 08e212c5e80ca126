"""Identifiers.  Distinct names for the type checker, plain strings on the wire."""

from __future__ import annotations

import uuid
from typing import NewType

__all__ = [
    "ArtifactId",
    "BufferId",
    "EndpointId",
    "ExecutionId",
    "ExtensionId",
    "MessageId",
    "ModelId",
    "NodeId",
    "UserId",
    "WorkflowId",
    "new_id",
]

#: Content address of a stored artifact: ``"sha256:<hex>"``.
ArtifactId = NewType("ArtifactId", str)
#: An open editor buffer.
BufferId = NewType("BufferId", str)
#: A bus endpoint: a component, an extension worker, an editor, a remote host.
EndpointId = NewType("EndpointId", str)
#: One run of a workflow.
ExecutionId = NewType("ExecutionId", str)
#: A loaded extension instance.
ExtensionId = NewType("ExtensionId", str)
#: A message on the bus.
MessageId = NewType("MessageId", str)
#: An instrument's model, e.g. ``"gpt-4"``.
ModelId = NewType("ModelId", str)
#: A node within one workflow.
NodeId = NewType("NodeId", str)
#: A user of the data layer.
UserId = NewType("UserId", str)
#: A workflow document.
WorkflowId = NewType("WorkflowId", str)


def new_id() -> str:
    """A fresh random identifier (UUID4, hex form) for any of the id types."""
    return uuid.uuid4().hex
