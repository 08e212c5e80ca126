"""Provides ``artifact_store`` at normal priority, so it replaces the builtin (trylast) provider."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from symphony.hookspecs import ArtifactId, NotFoundError, hookimpl
from symphony.hookspecs.ports import ArtifactInfo, HostContext


class MemoryArtifactStore:
    """An ArtifactStorePort in memory: content-addressed by SHA-256, stored once."""

    def __init__(self) -> None:
        self._blobs: dict[ArtifactId, bytes] = {}
        self._metadata: dict[ArtifactId, dict[str, Any]] = {}

    async def store(self, content: bytes, metadata: Mapping[str, Any] | None = None) -> ArtifactId:
        artifact_id = ArtifactId("sha256:" + hashlib.sha256(content).hexdigest())
        self._blobs.setdefault(artifact_id, bytes(content))
        if metadata is not None or artifact_id not in self._metadata:
            self._metadata[artifact_id] = dict(metadata or {})
        return artifact_id

    async def retrieve(self, artifact_id: ArtifactId) -> bytes:
        try:
            return self._blobs[artifact_id]
        except KeyError:
            raise NotFoundError(f"No artifact {artifact_id} in memory.") from None

    async def info(self, artifact_id: ArtifactId) -> ArtifactInfo:
        content = await self.retrieve(artifact_id)
        return ArtifactInfo(artifact_id=artifact_id, size=len(content), metadata=dict(self._metadata[artifact_id]))

    async def search(self, query: str, limit: int = 20) -> list[ArtifactInfo]:
        needle = query.lower()
        found = [key for key, meta in self._metadata.items() if needle in repr(meta).lower()]
        return [await self.info(key) for key in found[:limit]]


@hookimpl
def symphony_provide_artifact_store(context: HostContext) -> MemoryArtifactStore:
    return MemoryArtifactStore()
