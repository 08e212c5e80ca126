"""What an extension will be allowed to do, shown before it is installed, the way a phone shows an app's permissions.

Each declared capability (one target each, in the text form ``symphony ext
grant`` takes) is either denied by the distribution's policy (then nothing is
installed), granted by the distribution (its grants, or a trusted publisher),
or asks the user (unless the distribution lets users grant nothing: then it is
shown as not granted, and the extension runs without it).  An update asks only
for what the installed version did not declare.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import click
import msgspec

from symphony.hookspecs import (
    Capabilities,
    PermissionPolicy,
    PermissionSyntaxError,
    RegistryError,
    covers,
    format_permission,
    is_denied_by,
    parse_permission,
    single_targets,
)

from ..wheels import publisher_of

__all__ = ["CapabilityLine", "ConsentPlan", "ConsentRefused", "ask_consent", "declared_capabilities", "plan_consent"]

Status = Literal["denied", "granted", "asks", "ungrantable"]


class ConsentRefused(RegistryError):
    """Nothing was installed: the policy forbids a capability, or the user (or CI mode) did not consent."""


@dataclass(frozen=True)
class CapabilityLine:
    """One capability: its text, what decides it, and why."""

    permission: str
    status: Status
    why: str
    new: bool = True


@dataclass(frozen=True)
class ConsentPlan:
    """Every capability of one release; ``new`` ones (all, for an install) are those consent is asked for."""

    extension: str
    version: str
    publisher: str | None
    lines: tuple[CapabilityLine, ...]
    removed: tuple[str, ...] = ()

    @property
    def denied(self) -> tuple[CapabilityLine, ...]:
        return tuple(line for line in self.lines if line.status == "denied")

    @property
    def to_ask(self) -> tuple[CapabilityLine, ...]:
        return tuple(line for line in self.lines if line.status == "asks" and line.new)

    def text(self) -> str:
        """The screen shown before installing: what it may do, grouped by who decides."""
        by = f" by {self.publisher}" if self.publisher else ""
        head = [f"{self.extension} {self.version}{by} will be able to:"]
        if not self.lines:
            head = [
                f"{self.extension} {self.version}{by} declares no capabilities: it can reach no files, hosts or models."
            ]
        marks = {"denied": "x", "granted": "+", "asks": "?", "ungrantable": "-"}
        body = [
            f"  [{marks[line.status]}] {line.permission}  ({line.why}{'' if line.new else '; already declared'})"
            for line in self.lines
        ]
        body += [f"  [-] {text}  (no longer declared)" for text in self.removed]
        return "\n".join(head + body)


def declared_capabilities(manifest: Mapping[str, Any] | None) -> list[str]:
    """The manifest's ``[capabilities]`` as single-target permission texts; RegistryError if malformed."""
    table = (manifest or {}).get("capabilities") or {}
    try:
        capabilities = msgspec.convert(table, Capabilities)
        permissions = capabilities.permissions()
    except (msgspec.ValidationError, PermissionSyntaxError) as error:
        raise RegistryError(f"the manifest's [capabilities] cannot be read: {error}") from None
    texts = [format_permission(single)[0] for p in permissions for single in single_targets(p)]
    return list(dict.fromkeys(texts))


def plan_consent(
    manifest: Mapping[str, Any],
    policy: PermissionPolicy,
    *,
    extension: str,
    version: str,
    deny: Sequence[str] = (),
    previous: Mapping[str, Any] | None = None,
) -> ConsentPlan:
    """Each capability of ``manifest`` against ``policy`` and the user's ``deny``; ``previous``: the installed one."""
    publisher = publisher_of(manifest)
    denials = (*policy.deny, *deny)
    grants = [parse_permission(text) for text in (*policy.grants.get("*", ()), *policy.grants.get(extension, ()))]
    trusted = publisher is not None and publisher in policy.trusted_publishers
    old: Collection[str] = declared_capabilities(previous) if previous is not None else ()
    lines = []
    for text in declared_capabilities(manifest):
        permission = parse_permission(text)
        new = text not in old
        if is_denied_by(denials, permission):
            source = "the distribution's policy" if is_denied_by(policy.deny, permission) else "permissions.deny"
            lines.append(CapabilityLine(text, "denied", f"denied by {source}", new))
        elif trusted:
            lines.append(CapabilityLine(text, "granted", f"granted: publisher {publisher!r} is trusted", new))
        elif any(covers(grant, permission) for grant in grants):
            lines.append(CapabilityLine(text, "granted", "granted by the distribution", new))
        elif not policy.user_grants:
            why = "not granted: the distribution does not let users grant permissions"
            lines.append(CapabilityLine(text, "ungrantable", why, new))
        else:
            lines.append(CapabilityLine(text, "asks", "asks you", new))
    removed = tuple(text for text in old if text not in {line.permission for line in lines})
    return ConsentPlan(extension=extension, version=version, publisher=publisher, lines=tuple(lines), removed=removed)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def ask_consent(plan: ConsentPlan, *, yes: bool, action: str = "install") -> None:
    """Show ``plan`` and ask; ConsentRefused (nothing installed) when denied, declined, or not askable."""
    click.echo(plan.text())
    if plan.denied:
        texts = ", ".join(line.permission for line in plan.denied)
        raise ConsentRefused(
            f"Not installing {plan.extension} {plan.version}: it declares {texts}, {plan.denied[0].why}. "
            "No grant can lift that; ask the distribution's maintainers, or choose another extension."
        )
    if not plan.to_ask or yes:
        return
    what = ", ".join(line.permission for line in plan.to_ask)
    if os.environ.get("CI", "").strip().lower() in ("true", "1"):
        raise ConsentRefused(
            f"Not {action}ing {plan.extension} {plan.version} in CI mode (CI={os.environ['CI']}): it asks for {what}"
            f" and nobody is here to consent. Re-run with --yes to consent to them."
        )
    if not _interactive():
        raise ConsentRefused(
            f"Not {action}ing {plan.extension} {plan.version}: it asks for {what}, and there is no terminal to ask"
            " on. Re-run in a terminal, or with --yes to consent to them."
        )
    if not click.confirm(f"Allow {plan.extension} {what} and {action} it?", default=False):
        raise ConsentRefused(f"Not {action}ing {plan.extension} {plan.version}: you did not consent. Nothing changed.")
