"""Whether a release can run here: its Symphony API range and its Requires-Python against this host."""

from __future__ import annotations

import platform
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from symphony.hookspecs import API_VERSION, ApiRange, ApiRangeSyntaxError

__all__ = ["api_range", "incompatibility"]

_HOST_API = ".".join(map(str, API_VERSION))


def api_range(manifest: dict[str, Any] | None) -> str:
    """The manifest's ``[dependencies] symphony`` (``symphony-core`` is the seed's alias), ``*`` when absent."""
    dependencies = (manifest or {}).get("dependencies") or {}
    value = dependencies.get("symphony", dependencies.get("symphony-core", "*"))
    return value if isinstance(value, str) else "*"


def incompatibility(api: str, requires_python: str | None) -> str | None:
    """Why a release with API range ``api`` and ``requires_python`` cannot run on this host, or None if it can.

    The API range is read exactly as the host reads it when loading (caret and
    tilde forms included), so the catalogue never promises what the host refuses.
    """
    try:
        if not ApiRange(api).contains(API_VERSION):
            return f"needs Symphony API {api}; this host has {_HOST_API}"
    except ApiRangeSyntaxError:
        return f"declares an invalid Symphony API range {api!r}"
    if requires_python:
        try:
            python = SpecifierSet(requires_python)
        except InvalidSpecifier:
            return f"declares an invalid Requires-Python {requires_python!r}"
        if not python.contains(platform.python_version(), prereleases=True):
            return f"needs Python {requires_python}; this host runs {platform.python_version()}"
    return None
