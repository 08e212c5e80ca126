"""How a worker is launched: its command line, import paths and scrubbed environment.

The worker runs ``python -I -S`` (isolated: no PYTHON* variables, no user or
site directories), so its ``sys.path`` is exactly what we put on its command
line: the roots that hold msgspec, pluggy and the three Symphony packages it
imports, then the extension's own paths.  These roots are also what Landlock
lets it read.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

__all__ = ["BOOTSTRAP", "RUNTIME_MODULES", "import_root", "worker_argv", "worker_env", "worker_sys_path"]

#: The worker's entry script, run by path.
BOOTSTRAP: Final = str(Path(__file__).with_name("bootstrap.py"))
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


def worker_sys_path(extra: Sequence[str] = ()) -> list[str]:
    """The worker's sys.path additions: runtime roots first, then the extension's ``extra`` paths."""
    roots = [import_root(name) for name in RUNTIME_MODULES]
    return list(dict.fromkeys([*roots, *(os.path.abspath(p) for p in extra)]))


def worker_argv(python: str, spec_json: str, sys_path: Sequence[str]) -> list[str]:
    return [python, "-I", "-S", BOOTSTRAP, spec_json, *sys_path]


def worker_env(workdir: str, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """A scrubbed environment: a fixed PATH, HOME and TMPDIR in the private directory, the locale."""
    source = os.environ if source is None else source
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir}
    env.update({key: source[key] for key in _ENV_KEEP if key in source})
    env.setdefault("LANG", "C.UTF-8")
    return env


def default_python() -> str:
    """The interpreter for workers: this one, so the worker sees the same stdlib and packages."""
    return sys.executable
