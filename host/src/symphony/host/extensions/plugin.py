"""The host's ``extensions`` plugin: pre-validation, and installed extensions as workflow nodes.

Registered through the ``symphony.plugins`` entry point of ``symphony-host``
like any builtin (priority -100, provider ``trylast``), so a distribution can
replace the pre-validation port or block extension contributions by name.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symphony.hookspecs import (
    MANIFEST_FILE,
    HealthStatus,
    InstrumentNode,
    InstrumentSpec,
    Manifest,
    NodePermissions,
    OperatorNode,
    OperatorSpec,
    PreValidationError,
    SymphonyError,
    Workflow,
    WorkflowCheck,
    WorkflowProblem,
    hookimpl,
    workflow_permission_denials,
)
from symphony.hookspecs.ports import CreateUserRequest, CreateWorkflowRequest, HostContext, UpdateWorkflowRequest

if TYPE_CHECKING:  # the manifest machinery (packaging's requirement parser...) is imported when first used
    from ._index import Listing

SYMPHONY_API = "^1.0"

__all__ = ["PreValidation"]


class PreValidation:
    """The PreValidationPort: the manifest checker plus every contributed ``symphony_pre_validators`` check.

    Each method collects every problem and raises one PreValidationError listing them.
    """

    def __init__(self, context: HostContext) -> None:
        self._context = context

    def _contributed(self, target: str, value: Any) -> list[str]:
        problems = []
        for plugin, spec in self._context.contributions("symphony_pre_validators").values():
            if spec.target != target:
                continue
            try:
                spec.check(value)
            except SymphonyError as error:
                problems.append(f"{spec.name} ({plugin}): {error}")
        return problems

    @staticmethod
    def _raise(what: str, problems: list[str]) -> None:
        if problems:
            lines = "\n".join(f"  {p}" for p in problems)
            raise PreValidationError(f"{what} has {len(problems)} problem(s):\n{lines}")

    def validate_workflow_request(self, request: CreateWorkflowRequest) -> None:
        problems = [] if request.name.strip() else ["name: expected a non-empty workflow name, found ''."]
        self._raise(f"Workflow request {request.name!r}", problems + self._contributed("workflow", request))

    def validate_workflow_update(self, request: UpdateWorkflowRequest) -> None:
        blank = request.name is not None and not request.name.strip()
        problems = ["name: expected a non-empty workflow name, found ''."] if blank else []
        self._raise(f"Workflow update {request.id!r}", problems + self._contributed("workflow_update", request))

    def validate_user_request(self, request: CreateUserRequest) -> None:
        problems = [] if "@" in request.email else [f"email: expected an address with '@', found {request.email!r}."]
        self._raise(f"User request {request.name!r}", problems + self._contributed("user", request))

    def validate_extension_manifest(self, path: Path) -> None:
        """Every problem of the manifest at ``path`` (or in the directory ``path``)."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_FILE
        from ._check import check_manifest

        manifest, found = check_manifest(path)
        problems = [str(p) for p in found]
        if manifest is not None:
            problems += self._contributed("extension_manifest", manifest)
        self._raise(f"Manifest {path}", problems)


_listings: weakref.WeakKeyDictionary[HostContext, Listing] = weakref.WeakKeyDictionary()


def _listing(context: HostContext) -> Listing:
    """One listing per host: instruments and operators are collected separately, the listing once."""
    listing = _listings.get(context)
    if listing is None:
        from ._index import list_extensions

        listing = list_extensions(context.cache_dir)
        _listings[context] = listing
    return listing


@hookimpl(trylast=True)
def symphony_provide_pre_validation(context: HostContext) -> PreValidation:
    return PreValidation(context)


_runtimes: weakref.WeakKeyDictionary[HostContext, Any] = weakref.WeakKeyDictionary()


@hookimpl(trylast=True)
def symphony_provide_extension_runtime(context: HostContext) -> Any:
    """The ExtensionPort over the sandbox's runtimes (imported only when an extension is first used)."""
    from ._runtime import ExtensionRuntime

    runtime = _runtimes[context] = ExtensionRuntime(context)
    return runtime


class ExtensionRuntimeLifecycle:
    """Stops running extensions with the host (only if the port was ever used)."""

    name = "extension_runtime"
    depends_on: tuple[str, ...] = ()

    def __init__(self, context: HostContext) -> None:
        self._context = context

    async def start(self) -> None:
        """Nothing to start: extensions start on their first invocation."""

    async def stop(self) -> None:
        runtime = _runtimes.pop(self._context, None)
        if runtime is not None:
            await runtime.close()

    async def health_check(self) -> HealthStatus:
        """Failed while an extension is disabled, here or by an earlier process (``extensions-state.json``)."""
        from ._state import StateFile

        runtime = _runtimes.get(self._context)
        rows = runtime.ps() if runtime is not None else []
        live = {row.name: row.state for row in rows}
        recorded = StateFile.of(self._context.settings).read()
        disabled = sorted(
            {name for name, state in live.items() if state == "disabled"}
            | {name for name, record in recorded.items() if record.disabled and live.get(name) in (None, "disabled")}
        )
        if disabled:
            return HealthStatus.failed(
                f"disabled after repeated failures: {', '.join(disabled)}",
                fix=f"symphony ext enable {disabled[0]}",
            )
        if runtime is None:
            return HealthStatus.ok("no extension used yet")
        return HealthStatus.ok(f"{len(rows)} extension(s) loaded")


@hookimpl
def symphony_components(context: HostContext) -> list[ExtensionRuntimeLifecycle]:
    return [ExtensionRuntimeLifecycle(context)]


def _permission_problems(context: HostContext, workflow: Workflow) -> list[WorkflowProblem]:
    """Every node whose extension would be denied, checked as a whole before anything runs."""
    manifests: dict[tuple[str, str], Manifest] = {}
    for installed in _listing(context).extensions:
        manifest = installed.manifest
        if manifest is not None and not installed.problems:
            for contributed in manifest.contributes.instruments:
                manifests[("instrument", contributed.name)] = manifest
            for contributed in manifest.contributes.operators:
                manifests[("operator", contributed.name)] = manifest
    nodes = []
    for node_id, node in workflow.nodes.items():
        if isinstance(node, InstrumentNode | OperatorNode):
            manifest = manifests.get((node.__struct_config__.tag, node.uses))  # type: ignore[arg-type]
            if manifest is not None:
                declared = manifest.capabilities.permissions()
                nodes.append(NodePermissions(node=node_id, extension=manifest.name, declared=declared))
    if not nodes:
        return []
    from ..permissions import open_permissions, provided_records, subject_from_manifest

    by_name = {m.name: m for m in manifests.values()}

    def lookup(name: str) -> Any:
        return subject_from_manifest(by_name[name])

    permissions = open_permissions(context.settings, context.profile, lookup, records=provided_records(context))
    try:
        names = [n.extension for n in nodes]
        trusted = [name for name in names if permissions.trusted(lookup(name)) is not None]
        denials = workflow_permission_denials(
            nodes, permissions.workflow_grants(names), trusted=trusted, deny=permissions.policy.deny
        )
        replaced = {denial.extension: permissions.grants.replaced_note(denial.extension) for denial in denials}
    finally:
        permissions.close()
    problems = [
        WorkflowProblem(
            kind="permission_denied",
            nodes=(denial.node,),
            message=f"Node {denial.node!r} runs extension {denial.extension!r}, which would be denied:"
            f" {denial.message()}{replaced[denial.extension]}",
        )
        for denial in denials
    ]
    # The in-process runtime is only for trusted extensions (see _runtime.launch_for): say so now, not at run time.
    for entry in nodes:
        if by_name[entry.extension].runtime.kind == "python" and entry.extension not in trusted:
            problems.append(
                WorkflowProblem(
                    kind="permission_denied",
                    nodes=(entry.node,),
                    message=f"Node {entry.node!r} runs extension {entry.extension!r} in the host's process, which"
                    f" only trusted extensions may; trust it with `symphony ext grant {entry.extension} --trust`.",
                )
            )
    return problems


@hookimpl
def symphony_workflow_checks(context: HostContext) -> list[WorkflowCheck]:
    return [
        WorkflowCheck(
            name="permissions",
            description="Every node whose extension declares permissions not granted, or forbidden by policy.",
            check=lambda workflow: _permission_problems(context, workflow),
        )
    ]


@hookimpl
def symphony_instruments(context: HostContext) -> list[InstrumentSpec]:
    from ._catalogue import node_specs

    return node_specs(_listing(context).extensions, context)[0]


@hookimpl
def symphony_operators(context: HostContext) -> list[OperatorSpec]:
    from ._catalogue import node_specs

    return node_specs(_listing(context).extensions, context)[1]
