"""Installed extensions, their grants and permission audit, grant and revoke, through ``permission_records``.

The extensions listed are the installed ones (their manifests: version,
runtime, the capabilities they declare), those whose nodes the installed
plugins contribute, and those holding grants.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from symphony.hookspecs import PermissionSyntaxError, format_permission, parse_permission
from symphony.hookspecs.ports import GrantRecord, HostContext, PermissionRecordsPort

from ..data.service.auth import Identity
from ..data.service.problems import invalid, not_found
from .events import iso
from .manifests import Installed, installed

__all__ = ["ExtensionViews"]

#: The ``source`` recorded on grants made here.
SOURCE = "symphony ui"


def _grant(record: GrantRecord) -> dict[str, Any]:
    document: dict[str, Any] = msgspec.to_builtins(record)
    document["granted_at"] = iso(record.granted_at)
    return document


class ExtensionViews:
    """Extensions as the console lists them, and their grants."""

    def __init__(self, context: HostContext, records: PermissionRecordsPort) -> None:
        self._context = context
        self._records = records

    def _contributed(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for hook in ("symphony_instruments", "symphony_operators"):
            for _plugin, spec in self._context.contributions(hook).values():
                extension = getattr(spec, "extension", None)
                if extension:
                    entry = found.setdefault(extension, {"runtime": getattr(spec, "runtime", None), "nodes": []})
                    entry["nodes"].append(spec.name)
        return found

    def _summary(self, name: str, found: Installed | None, contributed: dict[str, Any] | None) -> dict[str, Any]:
        manifest = found.manifest if found is not None else None
        return {
            "name": name,
            "version": manifest.extension.version if manifest is not None else None,
            "description": manifest.extension.description if manifest is not None else None,
            "distribution": found.distribution if found is not None else None,
            "runtime": manifest.runtime.kind if manifest is not None else (contributed or {}).get("runtime"),
            "nodes": (contributed or {}).get("nodes", []),
            "declared": found.declared() if found is not None else [],
            "error": found.error if found is not None else None,
        }

    def listing(self) -> list[dict[str, Any]]:
        manifests, contributed = installed(), self._contributed()
        granted: dict[str, list[str]] = {}
        for record in self._records.grants():
            granted.setdefault(record.extension, []).append(record.permission)
        names = sorted(manifests.keys() | contributed.keys() | granted.keys())
        return [
            {**self._summary(name, manifests.get(name), contributed.get(name)), "granted": granted.get(name, [])}
            for name in names
        ]

    def show(self, name: str) -> dict[str, Any]:
        found, contributed = installed().get(name), self._contributed().get(name)
        grants = self._records.grants(name)
        if found is None and contributed is None and not grants:
            raise not_found(f"No extension {name!r} is installed or holds grants; GET extensions lists them.")
        audit = [
            {
                "at": iso(decision.at),
                "action": decision.kind,
                "detail": f"{decision.permission} {decision.target}".strip(),
                "outcome": decision.decision,
                "rule": decision.rule,
                "reason": decision.reason,
                "run_id": decision.run_id,
            }
            for decision in self._records.decisions(extension=name, limit=100)
        ]
        manifest = found.manifest if found is not None else None
        return {
            **self._summary(name, found, contributed),
            "manifest": None if manifest is None else msgspec.to_builtins(manifest),
            "granted": [_grant(record) for record in grants],
            "audit": audit,
        }

    def grant(self, name: str, capability: str, identity: Identity) -> dict[str, Any]:
        permissions = _canonical(capability)
        at = time.time()
        self._records.grant(
            [
                GrantRecord(extension=name, permission=text, granted_at=at, granted_by=identity.name, source=SOURCE)
                for text in permissions
            ]
        )
        return {"extension": name, "granted": permissions}

    def revoke(self, name: str, capability: str) -> dict[str, Any]:
        revoked = self._records.revoke(name, _canonical(capability))
        if not revoked:
            raise not_found(
                f"Extension {name!r} holds no grant {capability!r}; GET extensions/{name} lists its grants."
            )
        return {"extension": name, "revoked": revoked}


def _canonical(capability: str) -> list[str]:
    try:
        return format_permission(parse_permission(capability))
    except PermissionSyntaxError as error:
        raise invalid(f"{error}; a capability reads like 'network:api.example.com:443'.") from None
