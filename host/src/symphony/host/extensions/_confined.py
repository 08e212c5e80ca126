"""One step of building an extension's environment, run confined.

pip downloads and unpacks what an extension's manifest named (and, with source
builds allowed, runs its build backend), so no step runs as the plain host
user: :func:`confined` wraps a command in ``python -m
symphony.host.extensions._confined SPEC``, which confines itself with the
sandbox's mechanisms and only then executes the command.  Landlock lets it
write the environment being built and nothing else, and read only the
interpreter, the host's import paths, system libraries, TLS and DNS files,
pip's configuration and the local package sources pip is pointed at; so a
hostile build cannot touch ``~/.ssh`` or ``~/.bashrc`` nor poison pip's cache.
seccomp and rlimits apply as to a worker.  The network stays open (pip must
reach its index), and processes are allowed (pip starts the environment's
interpreter).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final, NoReturn

import msgspec

__all__ = ["CONFINEMENT_REFUSED", "StepSpec", "confined", "readable_sources"]

#: The exit status of a step whose confinement could not be applied (nothing ran).
CONFINEMENT_REFUSED: Final = 125
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
#: Variables whose values may name local files pip or TLS reads.
_SOURCE_VARIABLES: Final = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CONFIG_FILE")


class StepSpec(msgspec.Struct, frozen=True, kw_only=True):
    command: tuple[str, ...]
    read_paths: tuple[str, ...]
    write_paths: tuple[str, ...]
    weaker_allowed: bool


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
    reads = (*prefixes, *(p for p in sys.path if p), *_SYSTEM_READ, *_pip_configuration(environ), *readable)
    spec = StepSpec(
        command=tuple(command),
        read_paths=tuple(dict.fromkeys(os.path.abspath(path) for path in reads)),
        write_paths=(*writable, "/dev/null"),
        weaker_allowed=weaker_allowed,
    )
    return [sys.executable, "-m", __name__, msgspec.json.encode(spec).decode()]


def main(raw_spec: str) -> NoReturn:
    """Confine this process as ``raw_spec`` says, then become its command (exit status 125 if it cannot)."""
    from symphony.sandbox.confine import ConfinementPolicy, ConfinementRefusedError, confine

    spec = msgspec.json.decode(raw_spec, type=StepSpec)
    policy = ConfinementPolicy(
        allow_network=True,
        allow_processes=True,
        memory_bytes=None,
        cpu_seconds=None,
        wall_clock_seconds=None,
        max_open_files=4096,
        max_file_bytes=None,
        weaker_allowed=spec.weaker_allowed,
    )
    try:
        report = confine(policy, read_paths=spec.read_paths, write_paths=spec.write_paths)
    except (ConfinementRefusedError, OSError) as error:
        print(f"symphony: the environment build was not started: {error}", file=sys.stderr, flush=True)
        sys.exit(CONFINEMENT_REFUSED)
    for name, reason in report.skipped.items():
        print(f"symphony: building without {name} ({reason})", file=sys.stderr, flush=True)
    os.execv(spec.command[0], spec.command)


if __name__ == "__main__":
    main(sys.argv[1])
