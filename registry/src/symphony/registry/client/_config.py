"""Which indexes this host uses and the root of trust pinned for each (``<data_dir>/registry/``).

``config.json`` names the indexes (url) and the current one; each index has a
directory ``<data_dir>/registry/<name>/`` holding ``root.json`` (the root
metadata the user pinned with ``symphony registry use``: the trust anchor every
refresh starts from), ``metadata/`` (python-tuf's verified cache, newer roots
included), ``catalogue.db`` and ``targets/`` (downloaded wheels).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Final

import msgspec

from symphony.hookspecs import Base, RegistryError, atomic_write

__all__ = ["DEFAULT_INDEX", "IndexConfig", "RegistryConfig", "forget_index", "index_dir", "load_config", "save_index"]

DEFAULT_INDEX: Final = "default"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class IndexConfig(Base, frozen=True):
    """One index: where it is served (``<url>/tuf/`` metadata, ``<url>/packages/`` files)."""

    url: str


class RegistryConfig(Base, frozen=True):
    """Every configured index by name, and the one commands use when none is named."""

    current: str | None = None
    indexes: dict[str, IndexConfig] = msgspec.field(default_factory=dict)


def registry_dir(data_dir: Path) -> Path:
    return data_dir / "registry"


def index_dir(data_dir: Path, name: str) -> Path:
    return registry_dir(data_dir) / name


def check_name(name: str) -> str:
    """``name``, once it is safe as a directory name under the data directory; RegistryError saying what is."""
    if not _NAME.match(name):
        raise RegistryError(
            f"Index name {name!r} is not allowed: use 1-64 lowercase letters, digits, '-' or '_' (e.g. 'default')."
        )
    return name


def load_config(data_dir: Path) -> RegistryConfig:
    """The configured indexes (none when never configured); a damaged file is a RegistryError saying how to fix it."""
    path = registry_dir(data_dir) / "config.json"
    try:
        return msgspec.json.decode(path.read_bytes(), type=RegistryConfig)
    except FileNotFoundError:
        return RegistryConfig()
    except msgspec.DecodeError as error:
        raise RegistryError(
            f"{path} is not a registry configuration ({error}). Fix it, or delete it and run"
            " `symphony registry use URL --root ROOT.json` again."
        ) from None


def _save_config(data_dir: Path, config: RegistryConfig) -> None:
    atomic_write(registry_dir(data_dir) / "config.json", msgspec.json.format(msgspec.json.encode(config)) + b"\n")


def save_index(data_dir: Path, name: str, url: str, root: bytes) -> Path:
    """Pin ``root`` for index ``name`` at ``url`` and make it the current index; a new pin drops the old cache."""
    directory = index_dir(data_dir, check_name(name))
    directory.mkdir(parents=True, exist_ok=True)
    pinned = directory / "root.json"
    if pinned.exists() and pinned.read_bytes() != root:
        shutil.rmtree(directory / "metadata", ignore_errors=True)  # verified against the old anchor
        (directory / "catalogue.db").unlink(missing_ok=True)
    atomic_write(pinned, root)
    config = load_config(data_dir)
    _save_config(data_dir, RegistryConfig(current=name, indexes={**config.indexes, name: IndexConfig(url=url)}))
    return directory


def forget_index(data_dir: Path, name: str) -> None:
    """Remove index ``name`` from the configuration (its directory too)."""
    config = load_config(data_dir)
    indexes = {key: value for key, value in config.indexes.items() if key != name}
    current = config.current if config.current != name else next(iter(indexes), None)
    _save_config(data_dir, RegistryConfig(current=current, indexes=indexes))
    shutil.rmtree(index_dir(data_dir, name), ignore_errors=True)
