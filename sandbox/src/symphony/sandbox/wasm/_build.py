"""Build a Python extension into a component with componentize-py, cached by source hash.

Extensions ship their Python source, not an 18 MB binary: the host (or a test, or a
benchmark) builds it once and keeps the result under a cache directory keyed by the
sha256 of the sources, the WIT world and the componentize-py version. A second build of
unchanged sources is a file lookup. Concurrent builders are serialised with a lock file
and the result is renamed into place, so nobody reads half a component.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from symphony.hookspecs.wit import WIT_DIR, WORLD

__all__ = ["ComponentBuildError", "build_python_component", "componentize_py"]


class ComponentBuildError(Exception):
    """componentize-py is missing or rejected the sources; the message has its output."""


def componentize_py() -> str:
    """The componentize-py executable: beside this interpreter first, then on PATH."""
    beside = Path(sys.executable).parent / "componentize-py"
    found = str(beside) if beside.exists() else shutil.which("componentize-py")
    if found is None:
        raise ComponentBuildError(
            "componentize-py is not installed; install it with `pip install componentize-py` to build Python "
            "wasm extensions"
        )
    return found


def _source_key(app_dir: Path, app_module: str) -> str:
    try:
        tool = version("componentize-py")
    except PackageNotFoundError:
        tool = "unknown"
    digest = hashlib.sha256(f"symphony-componentize/1;{tool};{WORLD};{app_module}\n".encode())
    for root in (WIT_DIR, app_dir):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(f"{path.relative_to(root)}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_python_component(app_dir: str | Path, app_module: str, cache_dir: str | Path, *, quiet: bool = True) -> Path:
    """The component built from module ``app_module`` in ``app_dir``, building it if not cached.

    ``app_module`` must define ``class WitWorld(wit_world.WitWorld)`` with
    ``invoke(self, operation: str, input: str) -> str``.
    """
    app_dir = Path(app_dir).resolve()
    if not (app_dir / f"{app_module}.py").is_file() and not (app_dir / app_module / "__init__.py").is_file():
        raise ComponentBuildError(f"no module {app_module!r} in {app_dir}; expected {app_module}.py there")
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{app_module}-{_source_key(app_dir, app_module)[:32]}.wasm"
    if target.exists():
        return target
    with open(cache / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        command = [componentize_py(), "-d", str(WIT_DIR), "-w", WORLD, "componentize"]
        command += ["-p", str(app_dir), app_module, "-o", tmp]
        # Without VIRTUAL_ENV componentize-py bundles only what the app imports from its path.
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            Path(tmp).unlink(missing_ok=True)
            tail = (done.stderr or done.stdout).strip()[-3000:]
            raise ComponentBuildError(f"componentize-py failed to build {app_module!r} from {app_dir}:\n{tail}")
        if not quiet:
            print(done.stdout.strip(), file=sys.stderr)
        os.replace(tmp, target)
    return target
