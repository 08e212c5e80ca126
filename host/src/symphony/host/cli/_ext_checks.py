"""What ``symphony ext invoke`` checks before starting an extension: its declared ports and its grants.

The same refusals a workflow gets from ``workflow validate``, so a direct call
cannot do what a workflow node could not: an input of the wrong type or a
missing one stops here with the port named, and a declared permission that is
not granted (or that the policy forbids) stops the extension before it starts.
Operations the manifest does not list as a contributed node have no declared
ports to check (the extension may offer more than its catalogue entries).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from symphony.hookspecs import Manifest, NodePermissions, PermissionDeniedError, PortSpec, workflow_permission_denials

from ..extensions._values import describe

if TYPE_CHECKING:
    from ..permissions import Permissions, Rule

__all__ = ["check_grants", "check_inputs", "fits"]

_SCALARS: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "number": (int, float),
    "integer": int,
    "boolean": bool,
    "object": dict,
    "bytes": bytes,
}


def fits(type_name: str, value: Any) -> bool:
    """Whether ``value`` may reach a port of ``type_name``; iterative, so a deeply nested ``list[...]`` is no risk."""
    pending = [(type_name.strip(), value)]
    while pending:
        kind, item = pending.pop()
        if kind in ("any", "json"):
            continue
        if kind.startswith("list[") and kind.endswith("]"):
            if not isinstance(item, list):
                return False
            element = kind[5:-1].strip()
            pending.extend((element, member) for member in item)
            continue
        expected = _SCALARS.get(kind)
        if expected is None:
            continue  # a type this host does not know: the extension checks its own
        if isinstance(item, bool) and kind != "boolean":
            return False
        if not isinstance(item, expected):
            return False
    return True


def _ports(manifest: Manifest, operation: str) -> dict[str, PortSpec] | None:
    contributed = (*manifest.contributes.instruments, *manifest.contributes.operators)
    for node in contributed:
        if (node.entry or node.name) == operation:
            return node.inputs
    return None


def check_inputs(manifest: Manifest, operation: str, values: Mapping[str, Any]) -> None:
    """Refuse (exit 2) a missing required input or a value of the wrong type for its declared port.

    Inputs the node does not declare pass (an extension may read more than its
    catalogue entry types), but one that looks like a typo of a missing port is named.
    """
    ports = _ports(manifest, operation)
    if ports is None:
        return
    undeclared = [name for name in values if name not in ports]
    problems = []
    for port, spec in ports.items():
        value = values.get(port)
        if value is None and spec.required:
            close = difflib.get_close_matches(port, undeclared, n=1)
            hint = f" (did you mean {port!r} instead of {close[0]!r}?)" if close else ""
            problems.append(f"input {port!r} ({spec.type}) is missing{hint}; give it with --input {port}=VALUE")
        elif value is not None and not fits(spec.type, value):
            problems.append(f"input {port!r} expects {spec.type}, found {describe(value)}")
    if problems:
        where = f"{operation!r} of extension {manifest.name!r}"
        raise click.UsageError(f"Cannot invoke {where}: " + "; ".join(problems) + ".")


def check_grants(manifest: Manifest, permissions: Permissions, operation: str) -> None:
    """Refuse as ``workflow validate`` would: every declared permission granted (or trusted), none forbidden."""
    from ..permissions import Decision, subject_from_manifest

    name = manifest.name
    declared = manifest.capabilities.permissions()
    trusted = [name] if permissions.trusted(subject_from_manifest(manifest)) is not None else []
    node = NodePermissions(node=operation, extension=name, declared=declared)
    denials = workflow_permission_denials(
        [node], permissions.workflow_grants([name]), trusted=trusted, deny=permissions.policy.deny
    )
    if not denials:
        return
    (denial,) = denials
    reasons = []
    if denial.missing:
        reasons.append(f"not granted: {', '.join(denial.missing)}; grant with `{denial.command}`")
    if denial.forbidden:
        reasons.append(f"forbidden by the distribution's policy: {', '.join(denial.forbidden)}")
    reason = (
        f"Denied {', '.join((*denial.missing, *denial.forbidden))} to extension {name!r},"
        f" so {operation!r} was not started: {'; '.join(reasons)}.{permissions.grants.replaced_note(name)}"
    )
    refused: list[tuple[str, Rule]] = [(text, "not_granted") for text in denial.missing]
    refused += [(text, "policy") for text in denial.forbidden]
    for text, rule in refused:
        permissions.audit.record(
            Decision(
                allowed=False,
                extension=name,
                kind=text.partition(":")[0],
                permission=text,
                target=operation,
                rule=rule,
                reason=reason,
                grant_command=denial.command if rule == "not_granted" else None,
            )
        )
    raise PermissionDeniedError(reason)
