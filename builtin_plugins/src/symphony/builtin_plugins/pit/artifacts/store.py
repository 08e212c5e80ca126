"""A content-addressed artifact store in a local directory.

Layout: ``objects/<first two hex>/<rest>`` holds the bytes named by their
SHA-256, ``meta/<same>.json`` the metadata.  Writes go to a temporary file
and are renamed into place, so a crash never leaves a partial object, and
storing the same bytes twice stores them once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from symphony.hookspecs import ArtifactId, NotFoundError, ValidationError, atomic_write
from symphony.hookspecs.ports import ArtifactInfo

__all__ = ["LocalArtifactStore"]

_PREFIX = "sha256:"


class LocalArtifactStore:
    """The ArtifactStorePort over a directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, artifact_id: str) -> tuple[Path, Path]:
        digest = artifact_id.removeprefix(_PREFIX)
        if not artifact_id.startswith(_PREFIX) or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValidationError(f"Invalid artifact id {artifact_id!r}: expected 'sha256:' and 64 hex digits.")
        return self.root / "objects" / digest[:2] / digest[2:], self.root / "meta" / digest[:2] / f"{digest[2:]}.json"

    async def store(self, content: bytes, metadata: Mapping[str, Any] | None = None) -> ArtifactId:
        artifact_id = ArtifactId(_PREFIX + hashlib.sha256(content).hexdigest())
        blob, meta = self._paths(artifact_id)
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(blob, content)
        if metadata is not None or not meta.exists():
            meta.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(meta, msgspec.json.encode(dict(metadata or {})))
        return artifact_id

    async def retrieve(self, artifact_id: ArtifactId) -> bytes:
        blob, _ = self._paths(artifact_id)
        try:
            return blob.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"No artifact {artifact_id} in {self.root}.") from None

    async def info(self, artifact_id: ArtifactId) -> ArtifactInfo:
        blob, meta = self._paths(artifact_id)
        try:
            size = blob.stat().st_size
        except FileNotFoundError:
            raise NotFoundError(f"No artifact {artifact_id} in {self.root}.") from None
        metadata = msgspec.json.decode(meta.read_bytes()) if meta.exists() else {}
        return ArtifactInfo(artifact_id=artifact_id, size=size, metadata=metadata)

    async def search(self, query: str, limit: int = 20) -> list[ArtifactInfo]:
        """Artifacts whose metadata mentions ``query`` (case-insensitive)."""
        needle, found = query.lower(), []
        for meta in sorted((self.root / "meta").glob("*/*.json")):
            if needle in meta.read_text(encoding="utf-8").lower():
                found.append(await self.info(ArtifactId(f"{_PREFIX}{meta.parent.name}{meta.stem}")))
                if len(found) >= limit:
                    break
        return found
