"""How a worker and the zygote are launched: command lines, import paths and scrubbed environments.

Both run ``python -I -S`` (isolated: no PYTHON* variables, no user or site
directories), so ``sys.path`` is exactly what we put there: the roots that
hold msgspec, pluggy and the Symphony packages the worker imports (on the command
line), then the extension's own paths (in the start frame).  These roots are
also what Landlock lets the worker read.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

__all__ = [
    "BOOTSTRAP",
    "RUNTIME_MODULES",
    "ZYGOTE",
    "current_umask",
    "import_root",
    "runtime_roots",
    "same_interpreter",
    "worker_argv",
    "worker_env",
    "worker_sys_path",
    "zygote_argv",
]

#: The entry scripts, run by path: a fresh worker, and the zygote that forks them.
BOOTSTRAP: Final = str(Path(__file__).with_name("bootstrap.py"))
ZYGOTE: Final = str(Path(__file__).with_name("zygote.py"))
#: What the worker imports before the extension; their roots go on its sys.path.
RUNTIME_MODULES: Final = ("msgspec", "pluggy", "symphony.hookspecs", "symphony.sandbox")
#: The only variables a worker gets; never the host's secrets or tokens.
_ENV_KEEP: Final = ("LANG", "LC_ALL", "TZ")


def import_root(module: str) -> str:
    """The sys.path entry ``module`` is imported from (for ``a.b``, the folder holding ``a/``)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"cannot locate {module!r}, which the subprocess worker needs; is it installed?")
    path = Path(spec.origin).resolve()
    depth = module.count(".") + (1 if path.name == "__init__.py" else 0)
    return str(path.parents[depth])


@functools.cache
def runtime_roots() -> tuple[str, ...]:
    """Where the worker's runtime is imported from (found once: it does not move while the host runs)."""
    return tuple(dict.fromkeys(import_root(name) for name in RUNTIME_MODULES))


def worker_sys_path(extra: Sequence[str] = ()) -> list[str]:
    """The worker's sys.path additions: runtime roots first, then the extension's ``extra`` paths."""
    return list(dict.fromkeys([*runtime_roots(), *(os.path.abspath(p) for p in extra)]))


def worker_argv(python: str, parent_pid: int) -> list[str]:
    return [python, "-I", "-S", BOOTSTRAP, str(parent_pid), *runtime_roots()]


def zygote_argv(python: str, host_pid: int, control_fd: int) -> list[str]:
    return [python, "-I", "-S", ZYGOTE, str(host_pid), str(control_fd), *runtime_roots()]


def worker_env(workdir: str | None, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """A scrubbed environment: a fixed PATH, the locale, and HOME and TMPDIR in the private ``workdir``."""
    source = os.environ if source is None else source
    env = {"PATH": "/usr/bin:/bin"}
    if workdir is not None:
        env.update(HOME=workdir, TMPDIR=workdir)
    env.update({key: source[key] for key in _ENV_KEEP if key in source})
    env.setdefault("LANG", "C.UTF-8")
    return env


def current_umask() -> int:
    """This process's umask, read without changing it (``os.umask`` would, for a moment, for every thread)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022  # a kernel before 4.7 does not say; the usual default


def same_interpreter(python: str) -> bool:
    """Whether ``python`` is this interpreter (a virtual environment's link to it counts): the zygote forks for it."""
    return os.path.realpath(python) == os.path.realpath(sys.executable)


def default_python() -> str:
    """The interpreter for workers: this one, so the worker sees the same stdlib and packages."""
    return sys.executable
