"""Artifacts as the console shows them: search hits, and one artifact with its named versions and lineage.

Search and info are the ``artifact_store`` port's.  Versions and lineage are the
builtin store's catalogue (as for ``symphony artifacts history|lineage``): with
another store serving the port they are null.
"""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import ArtifactId
from symphony.hookspecs.ports import ArtifactInfo, ArtifactStorePort

from ..pit.artifacts.store import ArtifactStore
from .events import iso

__all__ = ["artifact_row", "artifact_view"]


def artifact_row(info: ArtifactInfo) -> dict[str, Any]:
    metadata = dict(info.metadata)
    created = metadata.get("created_at")
    return {
        "id": info.artifact_id,
        "name": metadata.get("name"),
        "version": metadata.get("version"),
        "kind": metadata.get("kind") or metadata.get("content_type"),
        "created_at": iso(created) if isinstance(created, int | float) else created,
        "size": info.size,
        "metadata": metadata,
    }


async def artifact_view(store: ArtifactStorePort, artifact_id: str) -> dict[str, Any]:
    """The artifact; its names' versions, oldest first; and the graph of what produced it and what used it."""
    info = await store.info(ArtifactId(artifact_id))
    if not isinstance(store, ArtifactStore):
        return {"artifact": artifact_row(info), "versions": None, "lineage": None}
    catalog = store.catalog
    names = dict.fromkeys(version.name for version in catalog.names_of(info.artifact_id))
    versions = [
        {"name": v.name, "version": v.version, "id": v.artifact_id, "created_at": iso(v.created_at), "tags": v.tags}
        for name in names
        for v in catalog.history(name)
    ]
    nodes: dict[str, dict[str, Any]] = {info.artifact_id: {"id": info.artifact_id, "kind": "artifact"}}
    edges: dict[tuple[str, str], None] = {}
    for step in catalog.produced(info.artifact_id) + catalog.used_by(info.artifact_id):
        node = f"{step.run_id}/{step.node_id}"
        nodes[node] = {
            "id": node,
            "kind": "node",
            "run_id": step.run_id,
            "node": step.node_id,
            "contribution": step.contribution,
            "contribution_version": step.contribution_version,
            "at": iso(step.created_at),
        }
        nodes.setdefault(step.artifact_id, {"id": step.artifact_id, "kind": "artifact"})
        for source in step.inputs:
            nodes.setdefault(source, {"id": source, "kind": "artifact"})
            edges[source, node] = None
        edges[node, step.artifact_id] = None
    lineage = {"nodes": list(nodes.values()), "edges": [{"source": s, "target": t} for s, t in edges]}
    return {"artifact": artifact_row(info), "versions": versions, "lineage": lineage}
