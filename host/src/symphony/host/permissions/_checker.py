"""The one permission checker: every access an extension makes is decided here.

A request is allowed when it is

1. not denied by the policy (a denied category or permission: nothing overrides it),
2. declared by the extension's manifest, and
3. granted, by the user (``symphony ext grant``) or the distribution's policy,
   unless the extension is trusted (then what it declares is enough).

Per extension, declarations, grants and denials are compiled once into
:class:`Matcher` objects and kept until the grants change; decisions about
hosts, models and capabilities are cached; file paths are resolved on every
request (``..`` and symlinks), because the filesystem can change under a
cached answer.  In ``learn`` mode every request is allowed and recorded with
what enforcing would have said (see :func:`learn_capabilities`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Final, Literal

from symphony.hookspecs import ModelAccess, ModelBudget, Permission, SymphonyError, format_permission, grant_command

from ._audit import AuditLog
from ._grants import GrantStore
from ._locations import LocationResolver
from ._matchers import Matcher
from ._policy import EffectivePolicy
from ._requests import (
    Decision,
    FileRequest,
    ModelRequest,
    NetworkRequest,
    Request,
    Rule,
    Subject,
    SubjectLookup,
    request_kind,
    request_permission,
    request_target,
    requests_for,
)

__all__ = ["CheckerMode", "PermissionChecker"]

CheckerMode = Literal["enforce", "learn"]

#: Cached decisions per extension before the cache is emptied (bounds memory for scanners).
_CACHE_LIMIT: Final = 10_000

_NOUNS: Final = {"file": "file access", "network": "network access", "system": "system access", "model": "model access"}


class _Compiled:
    """One extension's compiled view, valid for one grants generation."""

    __slots__ = ("budgets", "declared", "denied", "denied_kinds", "granted", "subject", "trusted")

    def __init__(
        self,
        subject: Subject,
        grants: tuple[Permission, ...],
        policy: EffectivePolicy,
        resolver: LocationResolver,
        trust_marks: frozenset[str],
    ) -> None:
        name = subject.name
        self.subject = subject
        memo: dict[str, str | None] = {}
        self.declared = Matcher(subject.declared, name, resolver, memo)
        self.granted = Matcher(grants, name, resolver, memo)
        self.denied = Matcher(policy.deny_permissions(), name, resolver, memo)
        self.denied_kinds = policy.denied_kinds()
        self.trusted = policy.trust_reason(subject, trust_marks)
        self.budgets = [g for g in grants if isinstance(g, ModelAccess) and g.budget is not None]


class PermissionChecker:
    """Decides requests for every extension; see the module docstring for the rule."""

    def __init__(
        self,
        *,
        lookup: SubjectLookup,
        grants: GrantStore,
        policy: EffectivePolicy,
        resolver: LocationResolver,
        audit: AuditLog | None = None,
        mode: CheckerMode = "enforce",
    ) -> None:
        self._lookup = lookup
        self._grants = grants
        self._policy = policy
        self._resolver = resolver
        self._audit = audit
        self.mode: CheckerMode = mode
        self._compiled: dict[str, _Compiled] = {}
        self._decisions: dict[tuple[str, Request], Decision] = {}
        self._generation = grants.generation
        self._lock = threading.Lock()

    # -- the hot path --------------------------------------------------------

    def check(self, extension: str, request: Request, *, run_id: str | None = None) -> Decision:
        """Decide ``request`` for ``extension`` and record the decision in the audit log."""
        decision = self.evaluate(extension, request)
        self.record(decision, run_id=run_id)
        return decision

    def record(self, decision: Decision, *, run_id: str | None = None) -> None:
        """Write ``decision`` to the audit log (a no-op without one)."""
        if self._audit is not None:
            self._audit.record(decision, run_id=run_id, mode=self.mode)

    def require(self, extension: str, request: Request, *, run_id: str | None = None) -> Decision:
        """:meth:`check`, raising PermissionDeniedError (with the reason and the fix) when denied."""
        return self.check(extension, request, run_id=run_id).raise_if_denied()

    def callback(self, extension: str, *, run_id: str | None = None) -> Callable[[Permission], None]:
        """A runtime's permission hook for ``extension``: raises PermissionDeniedError unless every
        request the (single-target) permission stands for is allowed (see :func:`requests_for`)."""

        def check_permission(permission: Permission) -> None:
            for request in requests_for(permission):
                self.require(extension, request, run_id=run_id)

        return check_permission

    def evaluate(self, extension: str, request: Request) -> Decision:
        """Decide without recording (for callers that record a combined decision themselves)."""
        if self._grants.generation != self._generation:
            self.invalidate()
        if isinstance(request, FileRequest):
            request = self._normalise(extension, request)
        elif isinstance(request, NetworkRequest):
            host = request.host.lower().rstrip(".")
            if host != request.host:
                request = NetworkRequest(host=host, port=request.port)
        key = (extension, request)
        cached = self._decisions.get(key)
        if cached is not None:
            return cached
        decision = self._decide(extension, request)
        if self.mode == "learn":
            decision = self._learning(decision)
        if len(self._decisions) >= _CACHE_LIMIT:
            self._decisions.clear()
        self._decisions[key] = decision
        return decision

    def _normalise(self, extension: str, request: FileRequest) -> FileRequest:
        path = request.path
        if path.startswith("~"):
            path = os.path.expanduser(path)
        if not os.path.isabs(path):
            path = os.path.join(self._resolver.workspace, path)
        resolved = os.path.realpath(path)
        return request if resolved == request.path else FileRequest(path=resolved, operation=request.operation)

    # -- deciding --------------------------------------------------------------

    def _decide(self, extension: str, request: Request) -> Decision:
        kind = request_kind(request)
        permission = request_permission(request)
        target = request_target(request)
        compiled = self._compile(extension)
        if compiled is None:
            return self._decision(
                False,
                extension,
                request,
                "unknown_extension",
                f"Denied {permission} to {extension!r}: no installed extension has that name "
                "(see `symphony ext list`).",
            )
        if kind in compiled.denied_kinds:
            return self._decision(
                False,
                extension,
                request,
                "policy",
                f"Denied {permission} to extension {extension!r}: {self._policy.source(kind)} forbids "
                f"{_NOUNS[kind]} for every extension; no grant can allow it.",
            )
        if compiled.denied.allows(request):
            rule = compiled.denied.first_match(request)
            text = format_permission(rule)[0] if rule is not None else permission
            return self._decision(
                False,
                extension,
                request,
                "policy",
                f"Denied {permission} to extension {extension!r}: {self._policy.source(text)} forbids {text} "
                "for every extension; no grant can allow it.",
            )
        declared = compiled.declared.first_match(request)
        if declared is None:
            return self._decision(
                False,
                extension,
                request,
                "not_declared",
                f"Denied {permission} to extension {extension!r}: its manifest does not declare it. "
                f"The manifest must declare it first ({_manifest_hint(kind, target, request)} under "
                "[capabilities]); then it can be granted.",
            )
        if compiled.trusted is not None:
            return self._decision(True, extension, request, "trusted", f"Allowed: declared, and {compiled.trusted}.")
        if compiled.granted.allows(request):
            return self._decision(True, extension, request, "granted", "Allowed: declared and granted.")
        text = format_permission(declared)[0]
        command = grant_command(extension, [text])
        return self._decision(
            False,
            extension,
            request,
            "not_granted",
            f"Denied {permission} to extension {extension!r}: its manifest declares {text} but it is not granted. "
            f"Grant it with `{command}`.{self._grants.replaced_note(extension)}",
            command=command,
        )

    @staticmethod
    def _decision(
        allowed: bool, extension: str, request: Request, rule: Rule, reason: str, *, command: str | None = None
    ) -> Decision:
        return Decision(
            allowed=allowed,
            extension=extension,
            kind=request_kind(request),
            permission=request_permission(request),
            target=request_target(request),
            rule=rule,
            reason=reason,
            grant_command=command,
        )

    @staticmethod
    def _learning(decision: Decision) -> Decision:
        if decision.allowed:
            reason = f"Allowed in learning mode (enforcing would allow it: {decision.rule})."
        else:
            reason = f"Allowed in learning mode; enforcing would deny it: {decision.reason}"
        return Decision(
            allowed=True,
            extension=decision.extension,
            kind=decision.kind,
            permission=decision.permission,
            target=decision.target,
            rule="learning",
            reason=reason,
            grant_command=decision.grant_command,
        )

    # -- compiled state --------------------------------------------------------

    def _compile(self, extension: str) -> _Compiled | None:
        compiled = self._compiled.get(extension)
        if compiled is not None:
            return compiled
        with self._lock:
            try:
                subject = self._lookup(extension)
            except (LookupError, SymphonyError):
                return None
            marks = self._grants.trusted() if self._policy.user_trust else frozenset()
            compiled = _Compiled(subject, self.granted(extension), self._policy, self._resolver, marks)
            self._compiled[extension] = compiled
            return compiled

    def granted(self, extension: str) -> tuple[Permission, ...]:
        """What counts as granted to ``extension``: the policy's grants, and the user's if the policy allows."""
        user = tuple(g.value() for g in self._grants.grants(extension)) if self._policy.user_grants else ()
        return (*self._policy.policy_grants(extension), *user)

    def subject(self, extension: str) -> Subject | None:
        compiled = self._compile(extension)
        return compiled.subject if compiled is not None else None

    def model_budget(self, extension: str, model: str) -> tuple[str, ModelBudget] | None:
        """The budget that applies to calls of ``model`` (exact grants before patterns), keyed by its grant text."""
        compiled = self._compile(extension)
        if compiled is None:
            return None
        matches = [
            g for g in compiled.budgets if Matcher([g], extension, self._resolver).allows(ModelRequest(model=model))
        ]
        if not matches:
            return None
        best = min(matches, key=lambda g: (model not in g.models, len(g.models)))
        assert best.budget is not None
        return format_permission(best)[0], best.budget

    def invalidate(self, extension: str | None = None) -> None:
        """Forget compiled state and cached decisions (of one extension, or all)."""
        with self._lock:
            if extension is None:
                self._compiled.clear()
                self._decisions.clear()
                self._generation = self._grants.generation
            else:
                self._compiled.pop(extension, None)
                self._decisions = {k: v for k, v in self._decisions.items() if k[0] != extension}

    def reload(self) -> bool:
        """Pick up grants changed by another process (e.g. ``symphony ext grant``); True if any were."""
        changed = self._grants.refresh()
        if changed:
            self.invalidate()
        return changed


def _manifest_hint(kind: str, target: str, request: Request) -> str:
    if isinstance(request, FileRequest):
        scope = "read" if request.operation in ("read", "list") else "write"
        if request.operation == "execute":
            scope = "execute"
        return f'file_access = ["{scope}:{target}"]'
    if isinstance(request, NetworkRequest):
        return f'network_access = ["{target}"]'
    if isinstance(request, ModelRequest):
        return f'model_access = ["{target}"]'
    return f'system_access = ["{target}"]'
