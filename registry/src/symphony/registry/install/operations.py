"""Install, update and uninstall one extension: resolve, verify, ask, install, record — in that order.

Nothing touches the environment before the release and its dependencies
are downloaded through TUF and verified and the user consented; the
verification file is written only after the installer succeeded, and
grants are given (through the host's own ``symphony ext grant``) only after
that.  Uninstalling removes the distribution, then revokes the name's grants
and trust mark; should the revocation fail, the report says so and running
``symphony ext uninstall`` again finishes it.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from base64 import urlsafe_b64encode
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import msgspec

from symphony.hookspecs import (
    VERIFICATION_FILE,
    PermissionPolicy,
    PublisherSignature,
    RegistryError,
    VerificationError,
)

from ..records import PublisherDirectory, Release
from ..wheels import WheelInfo
from .consent import ConsentPlan, ask_consent, plan_consent
from .dependencies import ReleaseSource, resolve_dependencies
from .environment import Snapshot, inspect_environment
from .installer import Installer, Pinned
from .verify import check_name, verify_extension

__all__ = ["Grants", "Installed", "Request", "install_release", "write_verification"]

#: Grants the consented permission texts to an extension (the host's ``symphony ext grant``).
Grants = Callable[[str, Sequence[str]], None]


class Index(ReleaseSource, Protocol):
    """What of ``client.Index`` installing needs."""

    def publishers(self) -> PublisherDirectory: ...


@dataclass(frozen=True)
class Request:
    """One install or update: which release, into which interpreter's environment, and how."""

    python: Path
    policy: PermissionPolicy
    deny: tuple[str, ...] = ()
    yes: bool = False
    own_environment: bool = False
    installer: Literal["auto", "uv", "pip"] = "auto"
    reinstall: bool = False


@dataclass(frozen=True)
class Installed:
    """What an install did: the release, its dependencies, the consent shown, the tool used."""

    release: Release
    dependencies: tuple[Release, ...]
    plan: ConsentPlan
    tool: str
    signature: PublisherSignature


def install_release(
    index: Index, release: Release, request: Request, *, grant: Grants, action: Literal["install", "update"]
) -> Installed:
    """Verify ``release``, ask consent, install it (and what it needs), write its verification, grant what was asked.

    Every decision (consent, squatting, dependencies) is taken on the manifest and metadata inside the verified
    wheel, the bytes the publisher signed, not on the registry's description of them.
    """
    if release.metadata.extension is None:
        name = f"{release.metadata.distribution} {release.metadata.version}"
        raise RegistryError(f"{name} is a library, not an extension; pip installs it")
    snapshot = inspect_environment(request.python)
    with tempfile.TemporaryDirectory(prefix="symphony-install-") as temporary:
        directory = Path(temporary)
        wheel = index.download(release, directory)
        signature, info = verify_extension(release, wheel, index.publishers(), request.policy)
        extension, manifest = _checked(release, info, request, snapshot)
        dependencies = (
            []
            if request.own_environment
            else resolve_dependencies(
                info.requires_dist, owner=info.distribution, installed=snapshot, source=index, directory=directory
            )
        )
        previous = snapshot.extensions.get(extension)
        plan = plan_consent(
            manifest,
            request.policy,
            extension=extension,
            version=info.version,
            deny=request.deny,
            previous=previous.manifest if previous is not None and action == "update" else None,
        )
        ask_consent(plan, yes=request.yes, action=action)
        installer = Installer.choose(request.python, request.installer)
        pinned = [
            Pinned(d.release.metadata.distribution, d.release.metadata.version, d.release.sha256) for d in dependencies
        ]
        pinned.append(Pinned(info.distribution, info.version, info.sha256))
        installer.install(directory, pinned, reinstall=request.reinstall)
    importlib.invalidate_caches()  # the host's `ext grant` below reads the distributions this process now has
    after = inspect_environment(request.python).extensions.get(extension)
    if after is None or after.distribution != info.distribution or after.version != info.version:
        raise RegistryError(
            f"{installer.tool} reported success, but {extension} {info.version} from {info.distribution} is not"
            f" what {request.python} now provides; check that interpreter's environment."
        )
    write_verification(after.dist_info, signature)
    asked = [line.permission for line in plan.to_ask]
    if asked:
        grant(extension, asked)
    return Installed(
        release=release,
        dependencies=tuple(d.release for d in dependencies),
        plan=plan,
        tool=installer.tool,
        signature=signature,
    )


def _checked(release: Release, info: WheelInfo, request: Request, snapshot: Snapshot) -> tuple[str, dict[str, Any]]:
    """The verified wheel's extension name and manifest, once the name and ``--venv`` are acceptable here."""
    extension, manifest = info.extension, info.manifest
    if extension is None or manifest is None or extension != release.metadata.extension:
        raise VerificationError(
            f"{info.filename} provides extension {extension!r}, but the registry describes it as"
            f" {release.metadata.extension!r}; not installing it."
        )
    check_name(extension, info.distribution, info.publisher, snapshot)
    runtime = (manifest.get("runtime") or {}).get("kind", "subprocess")
    if request.own_environment and runtime != "subprocess":
        raise RegistryError(
            f"--venv: {extension} runs in the {runtime!r} runtime; only a subprocess extension runs in its own"
            " virtual environment. Install it without --venv."
        )
    return extension, manifest


def write_verification(dist_info: Path, signature: PublisherSignature) -> None:
    """Write the signature into ``dist_info`` and list it in RECORD (so uninstalling removes it), each atomically."""
    data = msgspec.json.format(msgspec.json.encode(signature), indent=2) + b"\n"
    _replace(dist_info / VERIFICATION_FILE, data)
    record = dist_info / "RECORD"
    digest = urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    kept = [line for line in record.read_text(encoding="utf-8").splitlines() if VERIFICATION_FILE not in line]
    entry = f"{dist_info.name}/{VERIFICATION_FILE},sha256={digest},{len(data)}"
    _replace(record, "".join(f"{line}\n" for line in [*kept, entry]).encode())


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename; an existing file's mode, else the umask's."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        current = os.umask(0)
        os.umask(current)
        mode = 0o666 & ~current
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
