"""Orchestra Kit extensions on the host side: manifests, discovery, the index, configuration.

Nothing here imports an extension's code: manifests are found through the
``symphony.extensions`` entry points and read as TOML (see docs/extensions.md).
"""

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
