"""``symphony ext new``: a new extension project from the copier template in ``template/``.

The template is a plain copier template (``copier copy`` works on it too); rendering runs
copier in-process, without its prompts: every answer comes from the command line.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Final, Literal

from symphony.hookspecs import EXTENSION_NAME_PATTERN, RegistryError

__all__ = ["RUNTIMES", "TEMPLATE", "Runtime", "new_project"]

TEMPLATE: Final = Path(__file__).resolve().parent / "template"
Runtime = Literal["subprocess", "wasm", "python"]
RUNTIMES: Final[tuple[Runtime, ...]] = ("subprocess", "wasm", "python")
_MAX_NAME: Final = 64


def check_name(name: str) -> None:
    """RegistryError saying what a valid name looks like, before copier runs."""
    if len(name) > _MAX_NAME or not re.fullmatch(EXTENSION_NAME_PATTERN, name):
        raise RegistryError(
            f"{name!r} is not an extension name: use lowercase letters and digits in words joined by "
            f"single dashes (e.g. word-count), at most {_MAX_NAME} characters."
        )


def check_destination(directory: Path) -> None:
    """RegistryError unless ``directory`` is absent or empty: nothing of the user's is overwritten."""
    if directory.exists() and not directory.is_dir():
        raise RegistryError(f"{directory} exists and is not a directory; choose another DIR.")
    if directory.is_dir() and any(directory.iterdir()):
        raise RegistryError(f"{directory} is not empty; choose a new or empty DIR (nothing was written).")


def new_project(
    name: str, runtime: Runtime, publisher: str, directory: Path, *, description: str | None = None
) -> Path:
    """Render the template for ``name`` into ``directory``; the project's root."""
    import copier

    check_name(name)
    if runtime not in RUNTIMES:
        raise RegistryError(f"Unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}.")
    if not publisher.strip():
        raise RegistryError("The publisher must not be empty: give --publisher 'Your Name or Organisation'.")
    check_destination(directory)
    data = {"name": name, "runtime": runtime, "publisher": publisher.strip()}
    if description:
        data["description"] = description
    with tempfile.TemporaryDirectory(prefix="symphony-ext-new-") as scratch:
        rendered = Path(scratch) / "project"
        try:
            copier.run_copy(str(TEMPLATE), rendered, data=data, defaults=True, quiet=True, unsafe=False)
        except ValueError as error:  # an answer the template's validators refused
            raise RegistryError(f"Cannot create {name}: {error}") from None
        _copy_tree(rendered, directory)
    return directory


def _copy_tree(source: Path, target: Path) -> None:
    """Copy without modes: copier gives files the template's mode, the user's umask must decide."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir()
        else:
            shutil.copyfile(path, destination)
