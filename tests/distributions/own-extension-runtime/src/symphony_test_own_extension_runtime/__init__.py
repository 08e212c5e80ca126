"""A distribution whose profile replaces the sandbox's ``subprocess`` runtime with its own.

The plugin contributes :class:`RecordingRuntime` through
``symphony_extension_runtimes``; it runs no process: each call answers with
what it was given, and every ``start``, ``invoke`` and ``close`` is logged to
``DATA_DIR/own-extension-runtime.log`` (one JSON line each).  The profile
blocks the ``sandbox`` plugin, whose ``subprocess`` runtime would clash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from symphony.hookspecs import DistroProfile, RuntimeKind, hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.hookspecs.runtimes import HostCall, InstanceStats, Launch, Runtime, RuntimeSpec

PROFILE = DistroProfile(
    name="own-runtime",
    description="Runs subprocess extensions in the own-extension-runtime plugin instead of the sandbox's workers.",
    block=("sandbox",),
)


class _Log:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, method: str, **fields: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as log:
            log.write(json.dumps({"method": method, **fields}) + "\n")


class RecordingInstance:
    def __init__(self, launch: Launch, log: _Log) -> None:
        self._launch = launch
        self._log = log

    async def invoke(self, operation: str, input: dict[str, Any]) -> dict[str, Any]:
        self._log("invoke", extension=self._launch.name, operation=operation, input=input)
        return {"value": {"ran_in": "own-extension-runtime", "operation": operation, "input": input}}

    async def close(self) -> None:
        self._log("close", extension=self._launch.name)

    def stats(self) -> InstanceStats:
        return InstanceStats()


class RecordingRuntime:
    kind: RuntimeKind = "subprocess"

    def __init__(self, log: _Log) -> None:
        self._log = log

    async def start(self, launch: Launch, host_call: HostCall) -> RecordingInstance:
        self._log("start", extension=launch.name, entry=launch.entry)
        return RecordingInstance(launch, self._log)


def _recording(context: HostContext) -> Runtime:
    return RecordingRuntime(_Log(context.data_dir / "own-extension-runtime.log"))


@hookimpl
def symphony_extension_runtimes(context: HostContext) -> list[RuntimeSpec]:
    return [RuntimeSpec(name="subprocess", factory=_recording, description="Records calls; runs no process.")]
