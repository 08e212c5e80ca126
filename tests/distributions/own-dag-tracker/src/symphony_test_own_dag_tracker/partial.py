"""A ``dag_tracker`` provider written against an older, smaller port: it has no ``wait`` or ``close``."""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import HostContext


class PartialTracker:
    async def execute(self, workflow: Any, inputs: Any, sink: Any = None) -> str:
        raise AssertionError("never called: the port is checked before use")

    async def status(self, execution_id: str) -> Any: ...

    async def cancel(self, execution_id: str) -> None: ...

    async def resume(self, execution_id: str, sink: Any = None) -> str:
        return execution_id


@hookimpl
def symphony_provide_dag_tracker(context: HostContext) -> PartialTracker:
    return PartialTracker()
