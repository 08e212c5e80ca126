"""Orchestra Kit extensions on the host side: manifests, discovery, the index, configuration.

Nothing here imports an extension's code: manifests are found through the
``symphony.extensions`` entry points and read as TOML (see docs/extensions.md).

Names are imported on first use: every command loads the ``extensions`` plugin,
and the manifest machinery is for those that read manifests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._catalogue import node_specs
    from ._check import check_manifest, check_manifest_text, load_manifest
    from ._config import (
        SECRET_ENV_PREFIX,
        default_secrets_file,
        read_secrets_file,
        resolve_configuration,
        secret_env_name,
        settings_values,
    )
    from ._discovery import ENTRY_POINT_GROUP, locate_manifest, package_directory
    from ._index import FileStamp, InstalledExtension, Listing, clear, find_extension, list_extensions

__all__ = [
    "ENTRY_POINT_GROUP",
    "SECRET_ENV_PREFIX",
    "FileStamp",
    "InstalledExtension",
    "Listing",
    "check_manifest",
    "check_manifest_text",
    "clear",
    "default_secrets_file",
    "find_extension",
    "list_extensions",
    "load_manifest",
    "locate_manifest",
    "node_specs",
    "package_directory",
    "read_secrets_file",
    "resolve_configuration",
    "secret_env_name",
    "settings_values",
]

_HOME = {
    "ENTRY_POINT_GROUP": "_discovery",
    "FileStamp": "_index",
    "InstalledExtension": "_index",
    "Listing": "_index",
    "SECRET_ENV_PREFIX": "_config",
    "check_manifest": "_check",
    "check_manifest_text": "_check",
    "clear": "_index",
    "default_secrets_file": "_config",
    "find_extension": "_index",
    "list_extensions": "_index",
    "load_manifest": "_check",
    "locate_manifest": "_discovery",
    "node_specs": "_catalogue",
    "package_directory": "_discovery",
    "read_secrets_file": "_config",
    "resolve_configuration": "_config",
    "secret_env_name": "_config",
    "settings_values": "_config",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
