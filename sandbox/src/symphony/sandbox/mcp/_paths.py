"""What a confined MCP server may read and which environment it gets.

A server is a program, not a function the worker imports: it needs its
interpreter (or binary), its installed packages, and the system's shared
libraries, certificates and time zones.  Nothing in those locations is a
secret; the user's files stay out unless granted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from symphony.hookspecs.runtimes import Launch

from ..subprocess._launch import runtime_roots, worker_env

__all__ = ["server_env", "server_reads"]

#: System locations every server may read (and execute from): programs, libraries, certificates, zones.
_SYSTEM_READ: Final = (
    "/usr",
    "/bin",
    "/lib",
    "/lib64",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/gitconfig",
    "/dev/urandom",
)


def _environment_root(program: str) -> str | None:
    """The virtual environment ``program`` belongs to (``ENV/bin/program`` beside ``ENV/pyvenv.cfg``), if any."""
    root = Path(program).parent.parent
    return str(root) if (root / "pyvenv.cfg").is_file() else None


def server_reads(launch: Launch, argv: Sequence[str]) -> tuple[str, ...]:
    """Everything the server may read: its program and environment, the host's interpreter, the system's files."""
    program = argv[0]
    prefixes = (sys.base_prefix, sys.prefix, sys.base_exec_prefix, sys.exec_prefix)
    environment = _environment_root(program)
    paths = [
        os.path.realpath(program),
        *prefixes,
        *runtime_roots(),
        *([environment] if environment else []),
        *launch.environment_paths,
        *launch.sys_path,
        *launch.read_paths,
        *_SYSTEM_READ,
    ]
    return tuple(dict.fromkeys(os.path.abspath(path) for path in paths))


def server_env(launch: Launch, argv: Sequence[str], workdir: str) -> dict[str, str]:
    """The scrubbed environment of a worker, with the server's own environment's programs first on PATH."""
    env = worker_env(workdir)
    environment = _environment_root(argv[0])
    if environment is not None:
        env["PATH"] = f"{environment}/bin:{env['PATH']}"
    return env
