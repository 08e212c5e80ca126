"""One step of building an extension's environment, run confined.

pip downloads and unpacks what an extension's manifest named (and, with source
builds allowed, runs its build backend), so no step runs as the plain host
user: :func:`confined` wraps a command in ``python -m
symphony.sandbox.confine.step SPEC`` (``symphony-sandbox``; the host only
names the module), which confines itself with the sandbox's mechanisms and
only then executes the command.  Landlock lets it
write the environment being built and nothing else, and read only the
interpreter, the import roots of the packages the step itself imports (not every
``sys.path`` entry: ``PYTHONPATH=$HOME`` must not open the home directory), system libraries, TLS and DNS files,
pip's configuration and the local package sources pip is pointed at; so a
hostile build cannot touch ``~/.ssh`` or ``~/.bashrc`` nor poison pip's cache.
seccomp and rlimits apply as to a worker.  The network stays open (pip must
reach its index), and processes are allowed (pip starts the environment's
interpreter).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

import msgspec

from symphony.hookspecs import ExtensionError
from symphony.hookspecs.runtimes import CONFINED_STEP_MODULE, ConfinedStep

__all__ = ["confined", "readable_sources"]

#: System files a build reads: libraries, TLS roots, name resolution, what pip's user agent names.  No secrets.
_SYSTEM_READ: Final = (
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/etc/ssl",
    "/etc/pki",
    "/etc/ca-certificates",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/host.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/os-release",
    "/etc/lsb-release",
    "/etc/debian_version",
    "/etc/redhat-release",
    "/etc/mime.types",
    "/etc/pip.conf",
    "/etc/xdg/pip",
    "/dev/null",
    "/dev/urandom",
)
#: Top-level packages the step imports before it confines itself; their import roots are all of sys.path it reads.
_STEP_PACKAGES: Final = ("symphony", "msgspec", "pluggy", "typing_extensions")
#: Variables whose values may name local files pip or TLS reads.
_SOURCE_VARIABLES: Final = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CONFIG_FILE")


def _local_path(text: str) -> str | None:
    """The absolute local path ``text`` names (a path or a ``file:`` URL), if it names one."""
    path = text.removeprefix("file://") if text.startswith("file://") else text
    return path if path.startswith("/") else None


def readable_sources(pip_args: Sequence[str], environ: Mapping[str, str]) -> tuple[str, ...]:
    """Local files pip is pointed at: absolute paths and ``file:`` URLs in ``pip_args`` and ``PIP_*`` variables."""
    values: list[str] = []
    for arg in pip_args:
        values.append(arg.partition("=")[2] if arg.startswith("--") else arg)
    for key, value in environ.items():
        if key.startswith("PIP_") or key in _SOURCE_VARIABLES:
            values.extend(value.split())
    return tuple(dict.fromkeys(path for value in values if (path := _local_path(value)) is not None))


def _pip_configuration(environ: Mapping[str, str]) -> tuple[str, ...]:
    home = Path(environ.get("HOME", "~")).expanduser()
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    return (str(config / "pip"), str(home / ".pip"))


def _import_roots() -> tuple[str, ...]:
    """The sys.path entries holding the step's own packages (the ``symphony`` namespace may span several)."""
    roots: list[str] = []
    for name in _STEP_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        locations = spec.submodule_search_locations or ([spec.origin] if spec.origin else [])
        roots.extend(os.path.dirname(location) for location in locations)
    return tuple(roots)


def _sandbox_installed() -> bool:
    try:
        return importlib.util.find_spec(CONFINED_STEP_MODULE) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def confined(
    command: Sequence[str],
    *,
    writable: Iterable[str],
    readable: Iterable[str],
    environ: Mapping[str, str],
    weaker_allowed: bool,
) -> list[str]:
    """The command line that runs ``command`` confined to reading ``readable`` and writing ``writable``."""
    prefixes = (sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix)
    reads = (*prefixes, *_import_roots(), *_SYSTEM_READ, *_pip_configuration(environ), *readable)
    spec = ConfinedStep(
        command=tuple(command),
        read_paths=tuple(dict.fromkeys(os.path.abspath(path) for path in reads)),
        write_paths=(*writable, "/dev/null"),
        weaker_allowed=weaker_allowed,
    )
    if not _sandbox_installed():
        raise ExtensionError(
            "Building an extension's environment runs each step confined by the sandbox, which is not installed;"
            " install symphony-sandbox (pip install symphony-sandbox) to run extensions that declare"
            " python_dependencies."
        )
    return [sys.executable, "-m", CONFINED_STEP_MODULE, msgspec.json.encode(spec).decode()]
