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
in front of ``sys.path`` (see the sandbox's subprocess runtime).  It is made
from the host's own interpreter, so the host's compiled msgspec loads in the
worker.

What is installed comes from the index only (see ``_requirements``: direct
references and pip options are refused here too, whatever the manifest check
said), as wheels only (``--only-binary=:all:``) unless sources builds are
allowed, and pinned: pip downloads the wheels, their sha256 hashes are written
into a requirements file and pip installs from those files alone with
``--require-hashes``.  Every step runs confined (``_confined``).
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

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from symphony.hookspecs import ConfigurationError, ExtensionError

from .._settings import Settings
from ._confined import confined, readable_sources
from ._index import InstalledExtension
from ._requirements import checked_requirements

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
#: The requirements file pinning each downloaded wheel by its hash.
_PINNED: Final = "pinned-requirements.txt"
#: Variables that would steer pip away from the new environment, or hand it the host's secrets.
_DROPPED_PREFIXES: Final = ("PYTHON", "SYMPHONY_SECRET__")
_DROPPED: Final = frozenset({"PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_USER", "PIP_PYTHON", "VIRTUAL_ENV"})
#: Without the site module (``-S``), which is what reads pyvenv.cfg: so the venv scheme, rooted at argv[1].
_SITE_PACKAGES: Final = (
    "import json, sys, sysconfig; base = {'base': sys.argv[1], 'platbase': sys.argv[1]};"
    " print(json.dumps([sysconfig.get_path(key, 'venv', base) for key in ('purelib', 'platlib')]))"
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
    if manifest is None or installed.problems or manifest.runtime.kind not in ("subprocess", "mcp"):
        return None
    if not manifest.runtime.python_dependencies or manifest.runtime.kind not in settings.sandbox.runtimes:
        return None
    options = settings.component("extensions").options
    return ensure_environment(
        manifest.runtime.python_dependencies,
        cache_dir=settings.cache_dir,
        extension=manifest.name,
        pip_args=pip_args_from(options),
        source_builds=_source_builds(options),
        weaker_allowed=settings.sandbox.policy == "permissive",
    )


def ensure_environment(
    requirements: Sequence[str],
    *,
    cache_dir: Path,
    extension: str,
    pip_args: Sequence[str] = (),
    source_builds: bool = False,
    weaker_allowed: bool = False,
) -> Environment:
    """The complete environment holding ``requirements``: found in the cache, or built now.

    ``extension`` names who asked, for messages.  ``pip_args`` go to pip (before
    the requirements) on top of pip's own configuration.  ``weaker_allowed``
    builds even where a confinement mechanism is missing.  Raises ExtensionError
    naming the extension and the refused requirement, or the requirements and
    pip's last lines when they cannot be installed.
    """
    wanted = checked_requirements(requirements, extension=extension)
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
            step = _Step(extension=extension, wanted=wanted, pip_args=tuple(pip_args), weaker_allowed=weaker_allowed)
            return _build(root, final, step, source_builds=source_builds)
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


def _build(root: Path, final: Path, step: _Step, *, source_builds: bool) -> Environment:
    started = time.perf_counter()
    building = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=root))
    try:
        host_pip = _host_has_pip()
        venv = [sys.executable, "-m", "venv", *(["--without-pip"] if host_pip else []), str(building)]
        step.run(venv, building, "'python -m venv' failed while preparing")
        python = building / "bin" / "python"
        pip = [sys.executable, "-m", "pip", "--python", str(python)] if host_pip else [str(python), "-m", "pip"]
        hashes = _install(pip, building, step, source_builds=source_builds)
        site = _site_packages(python, building, step)
        marker = {
            "format": _FORMAT,
            "requirements": list(step.wanted),
            "site_packages": list(site),
            "python": sys.version,
            "interpreter": _interpreter(),
            "sha256": hashes,
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
            found = _complete(final, step.wanted)
            if found is None:
                raise
            return found
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    _log.info(
        "built the Python environment of extension %r (%s) in %.1f s: %s",
        step.extension,
        ", ".join(step.wanted),
        seconds,
        final,
    )
    return Environment(
        path=final,
        python=final / "bin" / "python",
        site_packages=tuple(str(final / relative) for relative in site),
        requirements=step.wanted,
        built=True,
    )


def _install(pip: list[str], building: Path, step: _Step, *, source_builds: bool) -> dict[str, str]:
    """Install the requirements into ``building``; the sha256 of each wheel installed, by file name.

    Wheels only: download them, pin each by its hash, install from those files
    alone.  Source builds cannot be pinned that way (their build requirements
    come from the index too): one pip install, confined like the rest.
    """
    common = ["--disable-pip-version-check", "--no-input", "--no-cache-dir"]
    if source_builds:
        step.run([*pip, "install", *common, *step.pip_args, "--", *step.wanted], building, "pip could not install")
        return {}
    wheels = building / ".wheels"
    wheels.mkdir()
    download = [*pip, "download", *common, "--only-binary=:all:", "--dest", str(wheels), *step.pip_args]
    step.run([*download, "--", *step.wanted], building, "pip could not install")
    hashes = _pin(wheels, step)
    if hashes:  # none when every requirement's marker excludes this Python
        install = [*pip, "--isolated", "install", *common, "--only-binary=:all:", "--no-index", "--require-hashes"]
        pinned = ["--find-links", str(wheels), "-r", str(wheels / _PINNED)]
        step.run([*install, *pinned], building, "pip could not install")
    shutil.rmtree(wheels)
    return hashes


def _pin(wheels: Path, step: _Step) -> dict[str, str]:
    """Write the requirements file naming each downloaded wheel by name, version and sha256."""
    hashes: dict[str, str] = {}
    lines: list[str] = []
    for path in sorted(wheels.iterdir()):
        try:
            name, version, _, _ = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            raise ExtensionError(
                f"Cannot build the Python environment of extension {step.extension!r}: pip downloaded {path.name!r},"
                " which is not a wheel."
            ) from None
        with path.open("rb") as handle:
            hashes[path.name] = hashlib.file_digest(handle, "sha256").hexdigest()
        lines.append(f"{name}=={version} --hash=sha256:{hashes[path.name]}\n")
    (wheels / _PINNED).write_text("".join(lines), encoding="utf-8")
    return hashes


def _host_has_pip() -> bool:
    """Whether the host's environment has pip (a uv-made one may not); if not, the environment gets its own."""
    return importlib.util.find_spec("pip") is not None


def _site_packages(python: Path, building: Path, step: _Step) -> tuple[str, ...]:
    """The environment's import directories, relative to it, as its own interpreter reports them.

    ``-S``: the site module would run the ``.pth`` files the installed wheels brought.
    """
    output = step.run(
        [str(python), "-I", "-S", "-c", _SITE_PACKAGES, str(building)],
        building,
        "its interpreter did not run after installing",
    )
    base = Path(os.path.realpath(building))
    paths = [Path(os.path.realpath(text)) for text in json.loads(output.strip().splitlines()[-1])]
    return tuple(dict.fromkeys(str(path.relative_to(base)) for path in paths))


def _pip_environment() -> dict[str, str]:
    """The host's environment (so pip's own configuration applies) without what would misdirect it."""
    return {
        key: value for key, value in os.environ.items() if key not in _DROPPED and not key.startswith(_DROPPED_PREFIXES)
    }


@dataclass(frozen=True)
class _Step:
    """What every build step of one environment shares: who asked, for what, and how pip is pointed."""

    extension: str
    wanted: tuple[str, ...]
    pip_args: tuple[str, ...]
    weaker_allowed: bool

    def run(self, command: list[str], building: Path, step: str) -> str:
        """Run one step confined to writing ``building``; its output, or ExtensionError with its last lines."""
        what = ", ".join(repr(item) for item in self.wanted)
        environ = _pip_environment()
        temporary = building / ".tmp"
        temporary.mkdir(exist_ok=True)
        readable = readable_sources(self.pip_args, environ)
        try:
            result = subprocess.run(
                confined(
                    command,
                    writable=[str(building)],
                    readable=readable,
                    environ=environ,
                    weaker_allowed=self.weaker_allowed,
                ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**environ, "TMPDIR": str(temporary)},
                timeout=BUILD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ExtensionError(
                f"Cannot build the Python environment of extension {self.extension!r}: installing {what} took longer"
                f" than {BUILD_TIMEOUT:.0f} s and was stopped. Check that pip can reach its package index."
            ) from None
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
        if result.returncode != 0:
            tail = "\n".join(f"  | {line}" for line in result.stdout.strip().splitlines()[-_TAIL_LINES:])
            raise ExtensionError(
                f"Cannot build the Python environment of extension {self.extension!r}: {step} {what}"
                f" (exit status {result.returncode}). Its last lines:\n{tail}\nCheck [runtime] python_dependencies"
                " in the extension's manifest, and where pip looks for packages (pip's configuration, or"
                " [components.extensions.options] pip_args; see docs/extensions.md)."
            )
        return result.stdout
