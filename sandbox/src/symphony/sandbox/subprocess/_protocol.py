"""The worker protocol's vocabulary: method names and the structs both sides exchange.

Parent -> worker requests: ``load`` (once, after the handshake), ``invoke``,
``ping``.  Worker -> parent requests: ``host.<name>`` (e.g. ``host.http``), the
guest API, answered by the parent's ``host_call`` callback.  Everything rides
in :class:`~symphony.hookspecs.MessageEnvelope` over the stdio transport.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ..confine import ConfinementPolicy

__all__ = [
    "HOST",
    "HOST_PREFIX",
    "InvokeParams",
    "LoadParams",
    "ReadyInfo",
    "WorkerSpec",
]

#: The parent's endpoint name in envelopes.
HOST: Final = "host"
#: Requests from the worker whose method starts with this go to ``host_call``.
HOST_PREFIX: Final = "host."


class WorkerSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the worker needs before it can confine itself; passed on its command line.

    Nothing secret goes here (the command line is visible in ``/proc``):
    configuration and secrets travel in the ``load`` request.
    """

    name: str
    entry: str
    policy: ConfinementPolicy
    workdir: str
    log_path: str
    sys_path: tuple[str, ...] = ()
    #: The extension's own virtual environment's site-packages: readable, and put in front of
    #: ``sys.path`` once the runtime is imported, before the extension is (see ``_child``).
    environment_paths: tuple[str, ...] = ()
    #: The host's pid: the worker has the kernel kill it when the host dies (0: not checked).
    parent_pid: int = 0


class LoadParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``load``: import the extension; ``config`` is its validated configuration, secrets included."""

    config: dict[str, Any] = {}


class InvokeParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``invoke``: call the extension's handler with ``operation`` and ``input``."""

    operation: str
    input: dict[str, Any] = {}


class ReadyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The ``load`` answer: the worker is confined, its extension imported, and this is how.

    Neither pid nor confinement: this answer is sent after extension code ran, which could
    alter it; the parent knows its child's pid and asked ``confinement`` before ``load``.
    """

    python: str
    import_ms: float
