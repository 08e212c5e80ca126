"""The ExtensionPort: installed extensions run in the runtime their manifest names, under the checker.

For each extension this module turns what the host knows — its manifest, its
validated configuration (secrets revealed only here, to it), what it was
granted, the distribution's policy — into a :class:`~symphony.hookspecs.runtimes.Launch`
and hands it to the extension manager, which starts it lazily in the runtime a
plugin contributes for its kind (:mod:`._runtimes`), restarts it with backoff
and disables it in a crash loop.

Which runtime may run what:

- ``python`` (in-process): only trusted extensions (a trusted publisher in the
  profile, or marked trusted by the user with ``symphony ext grant NAME --trust``);
- ``subprocess`` and ``wasm``: when listed in ``sandbox.runtimes``;
- a weaker confinement than the kernel should give is accepted only with
  ``sandbox.policy = "permissive"``.

Files an extension may use are its effective file grants, turned into rules
exactly as narrow as the checker reads them (Landlock rules with the rights of
the granted operations, or wasm preopens); see "What the runtimes enforce" in
docs/permissions.md.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from pathlib import Path
from typing import Any, Final

from symphony.hookspecs import (
    NAMED_LOCATIONS,
    ExtensionError,
    ExtensionId,
    FileAccess,
    FileOperation,
    HealthStatus,
    Invocation,
    Manifest,
    Secret,
    compile_glob,
    has_glob,
    parse_permission,
)
from symphony.hookspecs.ports import HostContext
from symphony.hookspecs.runtimes import (
    ExtensionCrashedError,
    ExtensionDisabledError,
    ExtensionTimeoutError,
    Launch,
    PathRule,
    tree_accesses,
)

from .._settings import Settings
from ..permissions import (
    Decision,
    PermissionChecker,
    Permissions,
    Subject,
    open_permissions,
    provided_records,
    subject_from_manifest,
)
from ..permissions._matchers import absolute_pattern
from ._config import resolve_configuration, settings_values
from ._index import InstalledExtension, find_extension
from ._manager import ExtensionManager, ExtensionStats
from ._runtimes import ContributedRuntimes
from ._services import HostServices
from ._state import StateFile
from ._venvs import environment_for

__all__ = ["ExtensionRuntime", "launch_for"]


#: How many paths a glob grant may make the host look at when it expands it at launch.
_EXPANSION_LIMIT: Final = 10_000
_FILE_OPERATIONS: Final = frozenset({"read", "write", "execute"})


def _root(absolute: str) -> tuple[str, int]:
    """The literal part of an absolute pattern (before its first glob) and its length in segments."""
    segments = absolute.split("/")
    first = next((i for i, segment in enumerate(segments) if has_glob(segment)), len(segments))
    return "/".join(segments[:first]) or "/", first


def _rules(absolute: str, operations: tuple[FileOperation, ...], text: str) -> list[PathRule]:
    """The kernel rules of one granted pattern: exactly the paths it matches now, with its operations.

    A ``DIR/**`` is one rule on ``DIR``'s tree; a file is a rule on that file (its read,
    write and execute); a directory matched without its tree may only be listed.  Other
    globs are expanded to what exists: a file created later is not matched until the next
    launch, and creating or deleting through a glob grant needs a ``DIR/**`` grant instead.
    Symbolic links are never followed (the checker resolves them, so they match their target).
    """
    root, first = _root(absolute)
    tree_pattern = absolute.removesuffix("/**") if absolute.endswith("/**") else None
    stem = (tree_pattern or absolute).split("/")[first:]
    depth = None if any("**" in segment for segment in stem) else len(stem)
    whole = compile_glob(absolute)
    tree = compile_glob(tree_pattern or "/") if tree_pattern is not None else None
    file_operations = tuple(op for op in operations if op in _FILE_OPERATIONS)
    rules: list[PathRule] = []
    pending = [(root, 0)]
    seen = 1
    while pending:
        path, level = pending.pop()
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue  # missing (a grant on what does not exist grants nothing) or unreadable
        if stat.S_ISDIR(mode):
            if tree is not None and tree.fullmatch(path):
                rules.append(PathRule(path=path, operations=operations))
                continue
            if "list" in operations and whole.fullmatch(path):
                rules.append(PathRule(path=path, operations=("list",)))
            if depth is not None and level >= depth:
                continue
            try:
                names = os.listdir(path)
            except OSError:
                continue
            seen += len(names)
            if seen > _EXPANSION_LIMIT:
                raise ExtensionError(
                    f"The grant {text!r} is a pattern the kernel cannot express as one rule, and it makes the"
                    f" host look at more than {_EXPANSION_LIMIT} paths below {root}. Grant the directory"
                    f" ('{root}/**') or a narrower pattern instead."
                )
            pending.extend((f"{path.rstrip('/')}/{name}", level + 1) for name in names)
        elif stat.S_ISREG(mode) and file_operations and whole.fullmatch(path):
            rules.append(PathRule(path=path, operations=file_operations))
    return rules


def _file_rules(
    effective: list[str], permissions: Permissions, extension: str, kind: str
) -> tuple[tuple[PathRule, ...], dict[str, str]]:
    """The kernel rules of the extension's file grants, and where a wasm guest sees a named location.

    The extension's own locations (not the shared workspace) are created by the host, with
    the granted directory below them; any other directory grants nothing until it exists.
    A grant a wasm preopen cannot express exactly is refused, never widened.
    """
    rules: list[PathRule] = []
    guest: dict[str, str] = {}
    grants: dict[str, list[tuple[str, str]]] = {}  # a ruled path's grants: (text, pattern)
    for text in effective:
        permission = parse_permission(text)
        if not isinstance(permission, FileAccess):
            continue
        operations = tuple(permission.allowed_operations())
        for pattern in permission.paths:
            head = pattern.partition("/")[0]
            if head in NAMED_LOCATIONS:
                permissions.resolver.resolve(extension, head).mkdir(parents=True, exist_ok=True)
            absolute = absolute_pattern(pattern, extension, permissions.resolver)
            if absolute is None:
                continue  # names nothing, for the checker too
            if head in NAMED_LOCATIONS and head != "workspace" and has_glob(absolute):
                Path(_root(absolute)[0]).mkdir(parents=True, exist_ok=True)  # inside the location: checked above
            found = _rules(absolute, operations, text)  # type: ignore[arg-type]  # parsed FileOperations
            if kind == "wasm" and (not absolute.endswith("/**") or has_glob(absolute[:-3])):
                raise ExtensionError(
                    f"Extension {extension!r} runs in wasm, where a file grant is a whole directory, preopened"
                    f" read-only (read, list) or read-write (read, list, write, create, delete): {text!r} cannot"
                    " be given exactly. Grant a directory that way ('file:read:DIR/**', 'file:read:DIR/**' with"
                    f" 'file:write:DIR/**', or 'file:admin:DIR/**'), or revoke it with 'symphony ext revoke"
                    f" {extension} {text}'."
                )
            rules += found
            for rule in found:
                grants.setdefault(rule.path, []).append((text, pattern))
            if pattern in NAMED_LOCATIONS and found:
                guest[found[0].path] = f"/{pattern}"
    if kind == "wasm":
        _check_preopens(rules, grants, extension)
    return tuple(dict.fromkeys(rules)), guest


def _check_preopens(rules: list[PathRule], grants: dict[str, list[tuple[str, str]]], extension: str) -> None:
    """ExtensionError unless every granted tree is exactly a read-only or a read-write preopen.

    A read-write preopen reads too, so writing alone (the ``write`` scope) cannot be given.
    """
    for path, access in tree_accesses(rules).items():
        if access is None:
            given = ", ".join(repr(text) for text, _ in grants[path])
            pattern = grants[path][0][1]
            raise ExtensionError(
                f"Extension {extension!r} runs in wasm, where a granted directory is preopened read-only"
                " (read, list) or read-write (read, list, write, create, delete, which includes reading):"
                f" its grants on {path} ({given}) are neither. Grant reading too with 'symphony ext grant"
                f" {extension} file:read:{pattern}', or grant 'file:admin:{pattern}' instead."
            )


def _python_script(path: str) -> bool:
    """Whether ``path`` is a Python console script (pip's shebang, or its ``/bin/sh`` trampoline for long paths)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return head.startswith(b"#!") and b"python" in b"\n".join(head.split(b"\n")[:3])


def server_command(extension: str, command: tuple[str, ...], python: Path | None) -> tuple[str, ...]:
    """An mcp server's argv with ``argv[0]`` found: in the extension's environment first, then on PATH.

    A console script of the extension's environment is run by that environment's ``python``: the
    environment is built elsewhere and renamed into place, so the script's own shebang names a path
    that no longer exists.
    """
    if not command:
        return ()
    program = command[0]
    bin_dir = python.parent if python is not None else None
    found = shutil.which(program, path=str(bin_dir)) if bin_dir is not None and "/" not in program else None
    if found is not None and python is not None and _python_script(found):
        return (str(python), os.path.abspath(found), *command[1:])
    found = found or shutil.which(program)
    if found is None:
        where = f"{bin_dir} nor " if bin_dir is not None else ""
        raise ExtensionError(
            f"Extension {extension!r} starts its MCP server with {program!r}, which is neither in {where}PATH;"
            " install the server (or list it in [runtime] python_dependencies), or give its absolute path."
        )
    return (os.path.abspath(found), *command[1:])


def launch_for(installed: InstalledExtension, settings: Settings, permissions: Permissions) -> Launch:
    """Everything the runtime needs to start ``installed``; ExtensionError when policy forbids running it."""
    manifest = installed.manifest
    if manifest is None or installed.problems:
        raise ExtensionError(
            f"Extension {installed.name!r} has an invalid manifest; run 'symphony ext validate"
            f" {installed.manifest_path or installed.package}' to see why."
        )
    name = manifest.name
    kind = manifest.runtime.kind
    subject = subject_from_manifest(manifest)
    trusted = permissions.trusted(subject)
    if kind == "python" and trusted is None:
        raise ExtensionError(
            f"Extension {name!r} runs in the host's process (runtime kind 'python'), which only trusted"
            f" extensions may; trust it with 'symphony ext grant {name} --trust' if you trust its author."
        )
    if kind != "python" and kind not in settings.sandbox.runtimes:
        raise ExtensionError(
            f"Extension {name!r} needs the {kind} runtime, which the sandbox policy does not allow"
            f" (sandbox.runtimes = {settings.sandbox.runtimes})."
        )
    config = resolve_configuration(
        manifest, settings_values(settings.extensions.config, name), secrets_file=settings.extensions.secrets_file
    )
    revealed = {key: value.reveal() if isinstance(value, Secret) else value for key, value in config.items()}
    report = permissions.report(subject)
    file_rules, guest_paths = _file_rules(report.effective, permissions, name, kind)
    package_dir = Path(installed.manifest_path).parent if installed.manifest_path else Path(installed.location)
    root = package_dir
    for _ in installed.package.split("."):
        root = root.parent
    entry = str(package_dir / manifest.runtime.entry) if kind == "wasm" else manifest.runtime.entry
    environment = environment_for(installed, settings)  # python_dependencies: its own venv, built once
    return Launch(
        command=server_command(name, manifest.runtime.command, environment.python if environment else None),
        operations=tuple(
            node.entry or node.name for node in (*manifest.contributes.instruments, *manifest.contributes.operators)
        ),
        name=name,
        kind=kind,
        entry=entry,
        sys_path=(str(root),) if installed.package else (),
        config=revealed,
        timeout=manifest.resources.timeout,
        memory_bytes=manifest.resources.memory_bytes(),
        cpu_share=manifest.resources.cpu_cores(),
        file_rules=file_rules,
        guest_paths=guest_paths,
        weaker_allowed=settings.sandbox.policy == "permissive",
        python=str(environment.python) if environment else None,
        environment_paths=environment.site_packages if environment else (),
    )


class ExtensionRuntime:
    """The ``extension_runtime`` port: load (register), invoke (lazily started), unload, health."""

    def __init__(self, context: HostContext, *, checker_mode: str = "enforce", run_id: str | None = None) -> None:
        self._context = context
        self.settings: Settings = context.settings
        self.run_id = run_id
        records = provided_records(context)
        self.permissions = open_permissions(self.settings, context.profile, self._subject, records=records)
        self.checker: PermissionChecker = self.permissions.checker("learn" if checker_mode == "learn" else "enforce")
        options = context.component_config("extensions").options
        self.services = HostServices(
            self.checker, context, run_id=run_id, model_instrument=str(options.get("model_instrument", "openai-chat"))
        )
        allowed = {"python", *self.settings.sandbox.runtimes}
        self.manager = ExtensionManager(ContributedRuntimes(context, allowed), self.services.host_call)
        self.state = StateFile.of(self.settings)
        self._reported: dict[str, ExtensionStats] = {}
        self._raised: dict[str, int] = {}
        self._installed: dict[str, InstalledExtension] = {}

    def _find(self, name: str) -> InstalledExtension:
        found = self._installed.get(name) or find_extension(self.settings.cache_dir, name)
        if found is None:
            raise ExtensionError(f"No extension {name!r} is installed; 'symphony ext list' shows those that are.")
        self._installed[name] = found
        return found

    def _subject(self, name: str) -> Subject:
        try:
            manifest = self._find(name).manifest
        except ExtensionError as error:
            raise LookupError(str(error)) from None
        if manifest is None:
            raise LookupError(f"extension {name!r} has an invalid manifest")
        return subject_from_manifest(manifest)

    async def load_extension(self, manifest: Any) -> ExtensionId:
        """Register the extension (by manifest or name) so its first invocation starts it.

        A Manifest whose name no installed extension has runs as it says, with no package of its own (so
        nothing of it is readable but its environment): how ``ext add-mcp`` lists a server's tools before
        writing the extension.  An installed name always means the installed extension.
        """
        name = manifest.name if isinstance(manifest, Manifest) else str(manifest)
        known = name in self._installed or find_extension(self.settings.cache_dir, name) is not None
        if isinstance(manifest, Manifest) and not known:
            self._installed[name] = InstalledExtension(
                name=name,
                package="",
                distribution="",
                version=manifest.extension.version,
                location="",
                manifest_path=None,
                manifest=manifest,
            )
        if name not in self.manager:
            record = self.state.read().get(name)
            installed = self._find(name)
            # Building an extension's environment runs pip for seconds: not on the event loop.
            await asyncio.to_thread(environment_for, installed, self.settings)
            launch = launch_for(installed, self.settings, self.permissions)
            self.manager.register(
                launch,
                disabled=record.disabled if record else None,
                failures_in_row=record.failures_in_row if record else 0,
            )
        return ExtensionId(name)

    async def invoke_extension(self, extension_id: ExtensionId, payload: Any) -> Any:
        """``payload`` is ``{"operation": ..., "input": {...}}``; the extension's dict result."""
        if not isinstance(payload, dict) or not isinstance(payload.get("operation"), str):
            raise ExtensionError("invoke_extension needs a payload {'operation': str, 'input': {...}}.")
        await self.load_extension(extension_id)
        manifest = self._find(extension_id).manifest
        try:
            return await self._context.invoke(
                Invocation(
                    kind="extension",
                    target=f"{extension_id}:{payload['operation']}",
                    inputs=dict(payload.get("input") or {}),
                    call=lambda inputs: self.manager.invoke(extension_id, payload["operation"], dict(inputs)),
                    plugin=self._context.port_provider("extension_runtime"),
                    extension=extension_id,
                    runtime=manifest.runtime.kind if manifest is not None else "unknown",
                    run_id=self.run_id,
                )
            )
        except (ExtensionCrashedError, ExtensionTimeoutError, ExtensionDisabledError) as error:
            self._audit_stop(extension_id, payload["operation"], error)
            self.flush()  # another process (and 'symphony doctor') must see a crash loop
            raise
        except Exception:
            # An error the extension raised is its answer to the manager (no restart), but a failed call for 'ext ps'.
            self._raised[extension_id] = self._raised.get(extension_id, 0) + 1
            raise

    def _audit_stop(self, name: str, operation: str, error: Exception) -> None:
        """A runtime stopping an extension is a decision too: it goes to the audit log."""
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        self.permissions.audit.record(
            Decision(
                allowed=False,
                extension=name,
                kind="system",
                permission="system:limits",
                target=operation,
                rule="stopped",
                reason=f"Extension {name!r} was stopped in {operation!r}: {reason}",
            ),
            run_id=self.run_id,
        )

    def enable(self, name: str) -> bool:
        """Clear a crash-loop disable, here and for later processes; False if it was not disabled."""
        cleared = self.state.enable(name)
        if name in self.manager:
            self.manager.enable(name)
        return cleared

    def flush(self) -> None:
        """Add this process's counts since the last flush to the totals ``ext ps`` shows."""
        rows = self.ps()
        self.state.add(rows, self._reported)
        self._reported = {row.name: row for row in rows}

    async def unload_extension(self, extension_id: ExtensionId) -> None:
        await self.manager.stop(extension_id)

    async def extension_health(self, extension_id: ExtensionId) -> HealthStatus:
        rows = {row.name: row for row in self.ps()}
        row = rows.get(extension_id)
        if row is None:
            return HealthStatus.ok("not loaded")
        if row.state == "disabled":
            return HealthStatus.failed(row.last_error or "disabled", fix=f"symphony ext enable {extension_id}")
        return HealthStatus.ok(f"{row.state}, {row.invocations} invocation(s), {row.failures} failure(s)")

    def ps(self) -> list[ExtensionStats]:
        """The manager's rows, their failures counting calls the extension answered with an error too."""
        rows = self.manager.ps()
        for row in rows:
            row.failures += self._raised.get(row.name, 0)
        return rows

    async def close(self) -> None:
        self.flush()
        await self.manager.close()
        self.permissions.close()
