"""Artifacts as the console shows them: search hits, and one artifact with its named versions and lineage.

Search and info are the ``artifact_store`` port's.  Versions and lineage are its
provider's optional ``ArtifactHistory`` capability: with a provider lacking it they
are null and ``unavailable`` is the 501 problem naming the missing method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from symphony.hookspecs import ArtifactId, PortUnavailableError
from symphony.hookspecs.ports import ArtifactHistory, ArtifactInfo, ArtifactLineage, ArtifactStorePort

from ..data.service.problems import not_implemented
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


async def artifact_view(
    store: ArtifactStorePort, history: Callable[[], ArtifactHistory], artifact_id: str
) -> dict[str, Any]:
    """The artifact; its names' versions, oldest first; and the graph of what produced it and what used it."""
    info = await store.info(ArtifactId(artifact_id))
    shown: dict[str, Any] = {"artifact": artifact_row(info), "versions": None, "lineage": None}
    try:
        catalogue = history()
    except PortUnavailableError as error:
        problem = not_implemented(str(error))
        return shown | {"unavailable": {"status": problem.status, "detail": problem.detail}}
    shown["versions"] = [
        {"name": v.name, "version": v.version, "id": v.artifact_id, "created_at": iso(v.created_at), "tags": v.tags}
        for v in await catalogue.versions(info.artifact_id)
    ]
    shown["lineage"] = _graph(info.artifact_id, await catalogue.lineage(info.artifact_id))
    return shown


def _graph(artifact_id: str, lineage: ArtifactLineage) -> dict[str, Any]:
    """Lineage as a graph: artifacts and the run nodes that produced or used them, edges from input to output."""
    nodes: dict[str, dict[str, Any]] = {artifact_id: {"id": artifact_id, "kind": "artifact"}}
    edges: dict[tuple[str, str], None] = {}
    for step in lineage.produced_by + lineage.used_by:
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
    return {"nodes": list(nodes.values()), "edges": [{"source": s, "target": t} for s, t in edges]}
