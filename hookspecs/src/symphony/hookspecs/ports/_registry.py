"""The port registry: every port's name and the Protocol its provider must satisfy.

It lives in the SDK so that plugins, the host and the documentation agree on
one list, and so that ``HostContext.port`` can be typed per port.
"""

from __future__ import annotations

from typing import Final, Literal

from ._conductor import ConductorPort
from ._data import DataAccessPort
from ._editing import TextEditingPort
from ._extension import ExtensionPort
from ._ipc import MessageBus
from ._language import LanguagePort
from ._permission_records import PermissionRecordsPort
from ._pit import (
    ArbitrationEnginePort,
    ArtifactStorePort,
    DagTrackerPort,
    PitPort,
    PoolManagerPort,
    StaleManagerPort,
)
from ._prevalidation import PreValidationPort

__all__ = ["PORT_PROTOCOLS", "PortName"]

#: The name of a port, as ``HostContext.port`` and the ``ports.<name>`` setting take it.
PortName = Literal[
    "text_editing",
    "language",
    "pit",
    "pool_manager",
    "dag_tracker",
    "artifact_store",
    "arbitration_engine",
    "stale_manager",
    "extension_runtime",
    "conductor",
    "data_access",
    "permission_records",
    "pre_validation",
    "message_bus",
]

#: Port name -> the Protocol its provider satisfies, in the order ``symphony doctor`` lists them.
#: The provider hook of port ``name`` is ``symphony_provide_<name>``.
PORT_PROTOCOLS: Final[dict[PortName, type[object]]] = {
    "text_editing": TextEditingPort,
    "language": LanguagePort,
    "pit": PitPort,
    "pool_manager": PoolManagerPort,
    "dag_tracker": DagTrackerPort,
    "artifact_store": ArtifactStorePort,
    "arbitration_engine": ArbitrationEnginePort,
    "stale_manager": StaleManagerPort,
    "extension_runtime": ExtensionPort,
    "conductor": ConductorPort,
    "data_access": DataAccessPort,
    "permission_records": PermissionRecordsPort,
    "pre_validation": PreValidationPort,
    "message_bus": MessageBus,
}
