"""Choosing the distribution profile, deterministically.

The ``distro`` setting names one; otherwise the single installed profile is
used; with none installed the host runs on its own defaults; with several and
no setting, selection fails and lists them.  (OpenTelemetry's "first one
found wins" is the pain this avoids.)
"""

from __future__ import annotations

import msgspec

from symphony.hookspecs import DistroProfile, DistroSelectionError

from ._index import DistributionEntry, EntryPointIndex
from ._plugins import load_entry_point

__all__ = ["ActiveDistro", "select_distro"]

GROUP = "symphony.distros"


class ActiveDistro(msgspec.Struct, frozen=True, kw_only=True):
    """The selected profile and where it came from (``None``: host defaults)."""

    profile: DistroProfile | None
    entry_point: str | None = None
    distribution: str | None = None
    version: str | None = None
    reason: str
    candidates: tuple[str, ...] = ()


def select_distro(index: EntryPointIndex, requested: str | None) -> ActiveDistro:
    """Select and load the profile; raises DistroSelectionError with the candidates."""
    found = {ep.name: (dist, ep.value) for dist, ep in index.group(GROUP)}
    candidates = tuple(sorted(found))
    if requested:
        if requested not in found:
            listed = ", ".join(candidates) or "none are installed"
            raise DistroSelectionError(
                f"Distribution profile {requested!r} is not installed (installed profiles: {listed})."
                " Install it, or unset the `distro` setting."
            )
        name, reason = requested, "selected by the `distro` setting"
    elif len(found) == 1:
        name, reason = candidates[0], "the only installed profile"
    elif not found:
        return ActiveDistro(profile=None, reason="no profile installed: host defaults")
    else:
        raise DistroSelectionError(
            f"{len(found)} distribution profiles are installed ({', '.join(candidates)}) and none is"
            ' selected. Choose one with SYMPHONY_DISTRO=<name>, `distro = "<name>"` in'
            " symphony.toml, or --set distro=<name>."
        )
    dist, value = found[name]
    return ActiveDistro(
        profile=_load(name, value, dist),
        entry_point=name,
        distribution=dist.name,
        version=dist.version,
        reason=reason,
        candidates=candidates,
    )


def _load(name: str, value: str, dist: DistributionEntry) -> DistroProfile:
    where = f"profile {name!r} ({value}) from {dist.name} {dist.version}"
    try:
        profile = load_entry_point(value)
    except Exception as error:
        raise DistroSelectionError(f"Cannot load distribution {where}: {error!r}") from error
    if not isinstance(profile, DistroProfile):
        raise DistroSelectionError(
            f"Distribution {where} is a {type(profile).__name__}; expected a symphony.hookspecs.DistroProfile."
        )
    return profile
