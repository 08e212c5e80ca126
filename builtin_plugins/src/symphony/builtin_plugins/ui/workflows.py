"""The project's workflow files as graphs with their problems, and edits through the incremental validator.

A workflow is any ``.toml`` or ``.json`` file under the project that reads as
one; its ``id`` names it in the API.  An edit is one of the SDK's ``Edit``
documents (``add_node``, ``remove_node``, ``update_node``, ``connect``,
``disconnect``), applied by an :class:`EditSession`; the file is then rewritten
atomically, keeping its mode, even when the edit made the workflow invalid (the
problems say what is wrong, as an editor's buffer would).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import msgspec

from symphony.hookspecs import DataEdge, Edit, Node, ValidationReport, Workflow

from ..data.service.problems import Problem, invalid, not_found
from ..workflow.catalogue import CONTROL_SIGNATURES, Catalogue
from ..workflow.edits import EditError, edge_key
from ..workflow.formats import WorkflowFormatError, load, save
from ..workflow.limits import Limits
from ..workflow.session import EditSession
from ..workflow.validate import validate

__all__ = ["ProjectWorkflows"]

_SUFFIXES: Final = {".toml", ".json"}
#: Configuration files that are never workflows, and directories never searched.
_NOT_WORKFLOWS: Final = {"symphony.toml", "pyproject.toml", "package.json", "package-lock.json"}
_SKIPPED_DIRS: Final = {"node_modules", "venv", "__pycache__", "site", "dist", "build"}
#: Files looked at per listing at most, so a huge tree cannot stall the console.
MAX_FILES: Final = 2000
#: Files larger than this are not read while listing.
MAX_LISTED_BYTES: Final = 4 * 1_048_576


def _candidates(project: Path) -> Iterator[Path]:
    seen = 0
    for root, dirs, files in os.walk(project):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(root) / name
            if path.suffix.lower() in _SUFFIXES and name not in _NOT_WORKFLOWS and not name.startswith("."):
                seen += 1
                if seen > MAX_FILES:
                    return
                yield path


def _workflow_id(path: Path, size: int) -> str | None:
    """The id of the workflow in ``path``; None when it is not one (the project holds other TOML and JSON too)."""
    if size > MAX_LISTED_BYTES:
        return None
    try:
        return load(path).id
    except (OSError, WorkflowFormatError):
        return None


def _ports(signature: Any, side: str) -> dict[str, str]:
    return {} if signature is None else {name: spec.type for name, spec in getattr(signature, side).items()}


def _problems(report: ValidationReport) -> list[dict[str, Any]]:
    return [
        {"code": p.kind, "message": p.message, "severity": p.severity, "nodes": list(p.nodes), "edges": list(p.edges)}
        for p in report.problems
    ]


class ProjectWorkflows:
    """Workflow files under ``project``, validated against ``catalogue()`` within ``limits()``."""

    def __init__(self, project: Path, catalogue: Callable[[], Catalogue], limits: Callable[[], Limits]) -> None:
        self.project = project
        self._catalogue = catalogue
        self._limits = limits
        self._locks: dict[Path, asyncio.Lock] = {}
        #: Each file's workflow id (None: not a workflow) while its inode, modification time and size stay the same.
        self._ids: dict[Path, tuple[tuple[int, int, int], str | None]] = {}

    def paths(self) -> dict[str, Path]:
        """Each workflow's id and its file (the first file found wins an id two files use)."""
        found: dict[str, Path] = {}
        ids: dict[Path, tuple[tuple[int, int, int], str | None]] = {}
        for path in _candidates(self.project):
            try:
                status = path.stat()
            except OSError:
                continue
            stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
            known = self._ids.get(path)
            workflow_id = known[1] if known is not None and known[0] == stamp else _workflow_id(path, status.st_size)
            ids[path] = (stamp, workflow_id)
            if workflow_id is not None:
                found.setdefault(workflow_id, path)
        self._ids = ids
        return found

    def listing(self) -> list[dict[str, Any]]:
        catalogue, limits = self._catalogue(), self._limits()
        rows = []
        for workflow_id, path in self.paths().items():
            workflow = load(path)
            report = validate(workflow, catalogue, limits).report()
            rows.append(
                {
                    "id": workflow_id,
                    "path": self._relative(path),
                    "name": workflow.name,
                    "nodes": len(workflow.nodes),
                    "problems": len(report.problems),
                }
            )
        return rows

    def path_of(self, workflow_id: str) -> Path:
        path = self.paths().get(workflow_id)
        if path is None:
            raise not_found(f"No workflow {workflow_id!r} under {self.project}; GET /ui/api/v1/workflows lists them.")
        return path

    def load(self, workflow_id: str) -> Workflow:
        path = self.path_of(workflow_id)
        try:
            return load(path)
        except WorkflowFormatError as error:
            raise invalid(f"{self._relative(path)}: {error}") from None

    def document(self, workflow_id: str) -> dict[str, Any]:
        path = self.path_of(workflow_id)
        workflow = self.load(workflow_id)
        return self._shown(workflow_id, path, workflow, validate(workflow, self._catalogue(), self._limits()).report())

    async def edit(self, workflow_id: str, body: Any) -> dict[str, Any]:
        """Apply the edit ``body`` to the workflow's file, rewritten atomically; its graph and problems after."""
        try:
            edit: Edit = msgspec.convert(body, Edit)
        except msgspec.ValidationError as error:
            raise invalid(
                f"Not an edit: {error}. Send {{op: add_node|remove_node|update_node|connect|disconnect, ...}}."
            ) from None
        path = self.path_of(workflow_id)
        async with self._locks.setdefault(path, asyncio.Lock()):
            session = EditSession(self.load(workflow_id), self._catalogue(), self._limits())
            try:
                report = session.apply(edit)
            except EditError as error:
                raise Problem(409, "data.validation.edit", f"{error.message}; nothing was changed.") from None
            try:
                save(session.workflow, path)
            except (OSError, WorkflowFormatError) as error:
                raise invalid(f"Cannot write {self._relative(path)}: {error}; it is unchanged.") from None
        return self._shown(workflow_id, path, session.workflow, report)

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project))
        except ValueError:
            return str(path)

    def _shown(self, workflow_id: str, path: Path, workflow: Workflow, report: ValidationReport) -> dict[str, Any]:
        return {
            "id": workflow_id,
            "path": self._relative(path),
            "name": workflow.name,
            "graph": graph(workflow, self._catalogue()),
            "problems": _problems(report),
        }


def _node(node_id: str, node: Node, catalogue: Catalogue) -> dict[str, Any]:
    kind = str(node.__struct_config__.tag)
    if kind == "control":
        contribution = node.control  # type: ignore[union-attr]
        signature = CONTROL_SIGNATURES.get(contribution)
    else:
        contribution = node.uses  # type: ignore[union-attr]
        signature = (catalogue.instruments if kind == "instrument" else catalogue.operators).get(contribution)
    return {
        "id": node_id,
        "kind": kind,
        "contribution": contribution,
        "config": node.config,
        "with": node.with_,
        "inputs": _ports(signature, "inputs"),
        "outputs": _ports(signature, "outputs"),
    }


def graph(workflow: Workflow, catalogue: Catalogue) -> dict[str, Any]:
    """Nodes with their typed ports, and edges by key with their ports split out (data edges only have ports)."""
    edges = []
    for edge in workflow.edges:
        source, _, source_port = edge.source.partition(".")
        target, _, target_port = edge.target.partition(".")
        row = {
            "id": edge_key(edge),
            "kind": str(edge.__struct_config__.tag),
            "source": source,
            "source_port": source_port if isinstance(edge, DataEdge) else None,
            "target": target,
            "target_port": target_port if isinstance(edge, DataEdge) else None,
        }
        when = getattr(edge, "when", None)
        if when is not None:
            row["when"] = when
        edges.append(row)
    nodes = [_node(node_id, node, catalogue) for node_id, node in workflow.nodes.items()]
    return {"nodes": nodes, "edges": edges}
