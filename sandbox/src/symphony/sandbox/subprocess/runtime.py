"""The subprocess runtime for the extension manager: one confined worker per extension."""

from __future__ import annotations

from typing import Any

from symphony.hookspecs.runtimes import HostCall, InstanceStats, Launch, RuntimeKind

from ..confine import ConfinementPolicy
from .worker import SubprocessWorker

__all__ = ["SubprocessInstance", "SubprocessRuntime"]


def policy_for(launch: Launch) -> ConfinementPolicy:
    """The confinement a launch asks for: its granted paths and limits, no network, no processes."""
    limits: dict[str, Any] = {"wall_clock_seconds": launch.timeout}
    if launch.memory_bytes is not None:
        limits["memory_bytes"] = launch.memory_bytes
    if launch.cpu_seconds is not None:
        limits["cpu_seconds"] = max(1, round(launch.cpu_seconds))
    return ConfinementPolicy(
        read_paths=launch.read_paths,
        write_paths=launch.write_paths,
        file_rules=launch.file_rules,
        weaker_allowed=launch.weaker_allowed,
        **limits,
    )


class SubprocessInstance:
    """A started worker, seen as an extension manager Instance."""

    def __init__(self, worker: SubprocessWorker) -> None:
        self.worker = worker

    async def invoke(self, operation: str, input: dict[str, Any]) -> dict[str, Any]:
        return await self.worker.invoke(operation, input)

    async def close(self) -> None:
        await self.worker.stop()

    def stats(self) -> InstanceStats:
        stats = self.worker.stats()
        return InstanceStats(pid=stats.pid, memory_bytes=stats.rss_bytes, cpu_seconds=stats.cpu_seconds)


class SubprocessRuntime:
    kind: RuntimeKind = "subprocess"

    async def start(self, launch: Launch, host_call: HostCall) -> SubprocessInstance:
        worker = SubprocessWorker(
            launch.name,
            launch.entry,
            policy=policy_for(launch),
            sys_path=launch.sys_path,
            config=launch.config,
            host_call=host_call,
            python=launch.python,
            environment_paths=launch.environment_paths,
        )
        await worker.start()
        return SubprocessInstance(worker)
