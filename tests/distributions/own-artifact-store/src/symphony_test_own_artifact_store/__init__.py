"""A distribution whose profile replaces the builtin artifact store with its own.

:class:`RecordingStore` keeps each artifact in one file named by its SHA-256
under ``DATA_DIR/own-artifact-store/`` (so another process, a resumed run
say, can read it) and logs every port call to ``DATA_DIR/own-artifact-store.log``
(one JSON line each).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from symphony.hookspecs import ArtifactId, DistroProfile, NotFoundError, hookimpl
from symphony.hookspecs.ports import ArtifactInfo, HostContext

PROFILE = DistroProfile(
    name="own-artifacts",
    description="Keeps artifacts in the own-artifact-store plugin instead of the builtin store.",
    providers={"artifact_store": "own-artifact-store"},
)


class RecordingStore:
    """The ``artifact_store`` port over flat files; each call is logged."""

    def __init__(self, data_dir: Path) -> None:
        self._log = data_dir / "own-artifact-store.log"
        self._root = data_dir / "own-artifact-store"

    def _record(self, method: str, **details: Any) -> None:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("a") as log:
            log.write(json.dumps({"method": method, **details}) + "\n")

    def _path(self, artifact_id: str) -> Path:
        return self._root / artifact_id.replace(":", "-")

    async def store(self, content: bytes, metadata: Mapping[str, Any] | None = None) -> ArtifactId:
        artifact_id = ArtifactId("sha256:" + hashlib.sha256(content).hexdigest())
        self._root.mkdir(parents=True, exist_ok=True)
        self._path(artifact_id).write_bytes(content)
        self._path(artifact_id).with_suffix(".json").write_text(json.dumps(dict(metadata or {})))
        self._record("store", artifact=artifact_id, size=len(content), metadata=dict(metadata or {}))
        return artifact_id

    async def retrieve(self, artifact_id: ArtifactId) -> bytes:
        self._record("retrieve", artifact=artifact_id)
        try:
            return self._path(artifact_id).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"own-artifact-store has no artifact {artifact_id}.") from None

    async def info(self, artifact_id: ArtifactId) -> ArtifactInfo:
        self._record("info", artifact=artifact_id)
        content = await self.retrieve(artifact_id)
        metadata = json.loads(self._path(artifact_id).with_suffix(".json").read_text())
        return ArtifactInfo(artifact_id=artifact_id, size=len(content), metadata=metadata)

    async def search(self, query: str, limit: int = 20) -> list[ArtifactInfo]:
        self._record("search", query=query)
        return []


@hookimpl
def symphony_provide_artifact_store(context: HostContext) -> RecordingStore:
    return RecordingStore(context.data_dir)
