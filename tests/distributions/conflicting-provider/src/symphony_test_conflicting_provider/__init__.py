"""A second normal-priority ``artifact_store`` provider, to conflict with replaces-provider.

It serves the same store class as replaces-provider (a declared dependency):
what matters here is that two plugins claim one port at one priority.
"""

from __future__ import annotations

from symphony_test_replaces_provider import MemoryArtifactStore

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import HostContext


@hookimpl
def symphony_provide_artifact_store(context: HostContext) -> MemoryArtifactStore:
    return MemoryArtifactStore()
