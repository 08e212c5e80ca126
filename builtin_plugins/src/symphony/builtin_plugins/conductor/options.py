"""``[components.conductor.options]``: where the conductor runs and how its process is watched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

import msgspec

from symphony.hookspecs import ConfigurationError

__all__ = ["COMPONENT", "ConductorOptions"]

#: The settings section, ``[components.conductor]``.
COMPONENT: Final = "conductor"


class ConductorOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the host reaches its conductor (see docs/runs.md, "The conductor")."""

    #: ``embedded``: in the host's process. ``process``: a supervised ``symphony conductor serve`` child.
    mode: Literal["embedded", "process"] = "embedded"
    #: The child's command line; empty means this Python running ``symphony conductor serve``.
    command: tuple[str, ...] = ()
    #: Extra environment variables for the child (it inherits the host's, plus data and cache dirs).
    env: dict[str, str] = msgspec.field(default_factory=dict)
    #: Seconds between heartbeats to the child.
    heartbeat_interval: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    #: Seconds a heartbeat may take to be answered.
    heartbeat_timeout: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    #: Heartbeats missed in a row that mean the child hangs (it is then killed and restarted).
    missed_heartbeats: Annotated[int, msgspec.Meta(ge=1)] = 2
    #: Times ``orchestrate`` resumes a run by itself after the child crashed; 0 fails at once.
    auto_resume: Annotated[int, msgspec.Meta(ge=0)] = 0
    #: Seconds to wait for a restarted child before an automatic resume gives up.
    restart_wait: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    #: Seconds one ``conductor.wait`` long-poll may take on the wire before it is asked again.
    poll: Annotated[float, msgspec.Meta(gt=0)] = 30.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ConductorOptions:
        """Validate the section; a bad value is one line naming the key and what is expected."""
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = (
                str(error)
                .replace("`$.", "`components.conductor.options.")
                .replace("`$`", "`components.conductor.options`")
            )
            raise ConfigurationError(f"Invalid conductor options: {where}.") from None
