"""A ``conductor`` provider written against the seed's smaller port: only ``orchestrate`` and ``get_status``."""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import ConductorStatus, HostContext


class SeedConductor:
    async def orchestrate(self, request: Any) -> Any:
        raise AssertionError("never called: the port is checked before use")

    async def get_status(self) -> ConductorStatus:
        return ConductorStatus(state="idle")


@hookimpl
def symphony_provide_conductor(context: HostContext) -> SeedConductor:
    return SeedConductor()
