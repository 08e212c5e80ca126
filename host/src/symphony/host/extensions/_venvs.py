"""An extension's own virtual environment: its manifest's ``python_dependencies``, built once and reused.

A subprocess extension may need libraries the host does not have, or other
versions of ones it has.  Each distinct set of requirements gets one
environment at ``<cache_dir>/extension-venvs/<key>/``, keyed by a hash of the
sorted requirements, the Python version and the interpreter, so extensions
that ask for the same set share it and a changed set (or a new Python) gets a
new one.

Building is atomic: the environment is made in a hidden sibling directory,
completed with a marker file, and only then renamed into place, so a crash
mid-build never leaves a half-built environment that would be used.
Builders of one key take a file lock; should the lock not hold (a filesystem
without ``flock``), the first rename wins and the loser's copy is discarded.

The environment gets only the requirements: the worker's runtime (msgspec,
pluggy, ``symphony.*``) is the host's, imported before the environment is put
in front of ``sys.path`` (see ``symphony.sandbox.subprocess``).  It is made
from the host's own interpreter, so the host's compiled msgspec loads in the
worker.  By default pip installs wheels only (``--only-binary=:all:``):
building a source distribution runs its code on the host, outside any sandbox.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from symphony.hookspecs import ConfigurationError, ExtensionError

from .._settings import Settings
from ._index import InstalledExtension

__all__ = [
    "DIRECTORY",
    "MARKER",
    "Environment",
    "ensure_environment",
    "environment_for",
    "environment_key",
    "pip_args_from",
]

_log = logging.getLogger(__name__)

#: Where environments live, under the host's cache directory.
DIRECTORY: Final = "extension-venvs"
#: Written last into a complete environment; an environment without it is never used.
MARKER: Final = "symphony-environment.json"
#: Seconds one pip install may take before it is stopped.
BUILD_TIMEOUT: Final = 900.0
_FORMAT: Final = 1
_TAIL_LINES: Final = 12
#: Variables that would steer pip away from the new environment, or hand it the host's secrets.
_DROPPED_PREFIXES: Final = ("PYTHON", "SYMPHONY_SECRET__")
_DROPPED: Final = frozenset({"PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_USER", "PIP_PYTHON", "VIRTUAL_ENV"})
_SITE_PACKAGES: Final = (
    "import json, sysconfig; print(json.dumps([sysconfig.get_path('purelib'), sysconfig.get_path('platlib')]))"
)


@dataclass(frozen=True)
class Environment:
    """A complete environment: where it is, its interpreter and import paths, and whether this call built it."""

    path: Path
    python: Path
    site_packages: tuple[str, ...]
    requirements: tuple[str, ...]
    built: bool


def _requirements(requirements: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({text.strip() for text in requirements if text.strip()}))


def _interpreter() -> str:
    """The interpreter environments are made from: the one under this host (a venv's base, if in one)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def environment_key(requirements: Sequence[str]) -> str:
    """The directory name for ``requirements`` under this host's Python; order and duplicates do not matter."""
    identity = {
        "requirements": _requirements(requirements),
        "python": sys.version,
        "cache_tag": sys.implementation.cache_tag,
        "machine": platform.machine(),
        "interpreter": _interpreter(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def pip_args_from(options: Mapping[str, Any]) -> tuple[str, ...]:
    """``[components.extensions.options] pip_args``: a list of strings, or one string (a JSON array or shell words)."""
    raw = options.get("pip_args", ())
    if isinstance(raw, str):
        text = raw.strip()
        try:
            raw = json.loads(text) if text.startswith("[") else shlex.split(text)
        except (ValueError, json.JSONDecodeError) as error:
            raise ConfigurationError(
                f"components.extensions.options.pip_args: expected pip arguments such as"
                f" '--no-index --find-links /wheels', got {text!r} ({error})."
            ) from None
    if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
        raise ConfigurationError(
            "components.extensions.options.pip_args: expected a list of strings such as"
            f" ['--no-index', '--find-links', '/wheels'], got {type(raw).__name__} {raw!r}."
        )
    return tuple(raw)


def _source_builds(options: Mapping[str, Any]) -> bool:
    raw = options.get("source_builds", False)
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false", "1", "0"):
        return raw.strip().lower() in ("true", "1")
    if not isinstance(raw, bool):
        raise ConfigurationError(
            f"components.extensions.options.source_builds: expected true or false, got {type(raw).__name__} {raw!r}."
        )
    return raw


def environment_for(installed: InstalledExtension, settings: Settings) -> Environment | None:
    """The environment ``installed`` runs in, built if need be; None if it needs none or may not run as a subprocess."""
    manifest = installed.manifest
    if manifest is None or installed.problems or manifest.runtime.kind != "subprocess":
        return None
    if not manifest.runtime.python_dependencies or "subprocess" not in settings.sandbox.runtimes:
        return None
    options = settings.component("extensions").options
    return ensure_environment(
        manifest.runtime.python_dependencies,
        cache_dir=settings.cache_dir,
        extension=manifest.name,
        pip_args=pip_args_from(options),
        source_builds=_source_builds(options),
    )


def ensure_environment(
    requirements: Sequence[str],
    *,
    cache_dir: Path,
    extension: str,
    pip_args: Sequence[str] = (),
    source_builds: bool = False,
) -> Environment:
    """The complete environment holding ``requirements``: found in the cache, or built now.

    ``extension`` names who asked, for messages.  ``pip_args`` go to ``pip install``
    (before the requirements) on top of pip's own configuration.  Raises
    ExtensionError naming the extension, the requirements and pip's last lines
    when they cannot be installed.
    """
    wanted = _requirements(requirements)
    if not wanted:
        raise ValueError("ensure_environment needs at least one requirement")
    root = cache_dir / DIRECTORY
    key = environment_key(wanted)
    final = root / key
    found = _complete(final, wanted)
    if found is not None:
        return found
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _locked(root / f"{key}.lock"):
            found = _complete(final, wanted)
            if found is not None:  # built by another process while we waited
                return found
            _discard_leftovers(root, key)
            return _build(
                root, final, wanted=wanted, extension=extension, pip_args=pip_args, source_builds=source_builds
            )
    except OSError as error:
        unwritable = error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)
        fix = " Set cache_dir (SYMPHONY_CACHE_DIR) to a writable directory with free space." if unwritable else ""
        raise ExtensionError(
            f"Cannot build the Python environment of extension {extension!r} in {root}: {error}.{fix}"
        ) from None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes, or the process dies
        yield


def _complete(path: Path, wanted: tuple[str, ...]) -> Environment | None:
    """The environment at ``path`` if its marker says it is complete and for ``wanted``."""
    try:
        marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(marker, dict)
        or marker.get("format") != _FORMAT
        or tuple(marker.get("requirements", ())) != wanted
    ):
        return None
    site = tuple(str(path / relative) for relative in marker.get("site_packages", ()))
    python = path / "bin" / "python"
    if not site or not python.exists() or not all(os.path.isdir(entry) for entry in site):
        return None
    return Environment(path=path, python=python, site_packages=site, requirements=wanted, built=False)


def _discard_leftovers(root: Path, key: str) -> None:
    """Remove what crashed builders of ``key`` left (we hold its lock), and an incomplete environment."""
    for leftover in root.glob(f".{key}.*"):
        shutil.rmtree(leftover, ignore_errors=True)
    final = root / key
    if final.exists():  # no valid marker: never complete, or from an incompatible version
        aside = root / f".{key}.discarded-{uuid.uuid4().hex[:8]}"
        final.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)


def _build(
    root: Path,
    final: Path,
    *,
    wanted: tuple[str, ...],
    extension: str,
    pip_args: Sequence[str],
    source_builds: bool,
) -> Environment:
    started = time.perf_counter()
    building = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=root))
    try:
        host_pip = _host_has_pip()
        venv = [sys.executable, "-m", "venv", *(["--without-pip"] if host_pip else []), str(building)]
        _run(venv, extension, wanted, "'python -m venv' failed while preparing")
        python = building / "bin" / "python"
        pip = [sys.executable, "-m", "pip", "--python", str(python)] if host_pip else [str(python), "-m", "pip"]
        install = [*pip, "install", "--disable-pip-version-check", "--no-input"]
        install += [] if source_builds else ["--only-binary=:all:"]
        _run([*install, *pip_args, "--", *wanted], extension, wanted, "pip could not install")
        site = _site_packages(python, building, extension, wanted)
        marker = {
            "format": _FORMAT,
            "requirements": list(wanted),
            "site_packages": list(site),
            "python": sys.version,
            "interpreter": _interpreter(),
            "build_id": uuid.uuid4().hex,
            "built_at": time.time(),
        }
        (building / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        try:
            building.rename(final)
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            shutil.rmtree(building, ignore_errors=True)  # another builder renamed first: theirs wins
            found = _complete(final, wanted)
            if found is None:
                raise
            return found
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    _log.info(
        "built the Python environment of extension %r (%s) in %.1f s: %s", extension, ", ".join(wanted), seconds, final
    )
    return Environment(
        path=final,
        python=final / "bin" / "python",
        site_packages=tuple(str(final / relative) for relative in site),
        requirements=wanted,
        built=True,
    )


def _host_has_pip() -> bool:
    """Whether the host's environment has pip (a uv-made one may not); if not, the environment gets its own."""
    return importlib.util.find_spec("pip") is not None


def _site_packages(python: Path, building: Path, extension: str, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The environment's import directories, relative to it, as its own interpreter reports them."""
    output = _run(
        [str(python), "-I", "-c", _SITE_PACKAGES], extension, wanted, "its interpreter did not run after installing"
    )
    base = Path(os.path.realpath(building))
    paths = [Path(os.path.realpath(text)) for text in json.loads(output.strip().splitlines()[-1])]
    return tuple(dict.fromkeys(str(path.relative_to(base)) for path in paths))


def _pip_environment() -> dict[str, str]:
    """The host's environment (so pip's own configuration applies) without what would misdirect it."""
    return {
        key: value for key, value in os.environ.items() if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
    }


def _run(command: list[str], extension: str, wanted: tuple[str, ...], step: str) -> str:
    """Run one build step; its output, or ExtensionError naming the extension, requirements and last lines."""
    what = ", ".join(repr(item) for item in wanted)
    try:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_pip_environment(),
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExtensionError(
            f"Cannot build the Python environment of extension {extension!r}: installing {what} took longer than"
            f" {BUILD_TIMEOUT:.0f} s and was stopped. Check that pip can reach its package index."
        ) from None
    if result.returncode != 0:
        tail = "\n".join(f"  | {line}" for line in result.stdout.strip().splitlines()[-_TAIL_LINES:])
        raise ExtensionError(
            f"Cannot build the Python environment of extension {extension!r}: {step} {what}"
            f" (exit status {result.returncode}). Its last lines:\n{tail}\nCheck [runtime] python_dependencies in"
            " the extension's manifest, and where pip looks for packages (pip's configuration, or"
            " [components.extensions.options] pip_args; see docs/extensions.md)."
        )
    return result.stdout
