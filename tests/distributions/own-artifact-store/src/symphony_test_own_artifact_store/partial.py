"""An ``artifact_store`` provider written against an older, smaller port: it can store but not read back."""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import HostContext


class WriteOnlyStore:
    async def store(self, content: bytes, metadata: Any = None) -> str:
        raise AssertionError("never called: the port is checked before use")


@hookimpl
def symphony_provide_artifact_store(context: HostContext) -> WriteOnlyStore:
    return WriteOnlyStore()
