"""Fixtures for the permission tests: real SQLite databases in temporary directories.

- ``paths``: a temporary tree with an ``allowed`` directory, a file in it, and
  a ``secret`` file outside it.
- ``resolver``: named locations under the test's temporary directory.
- ``make``: ``make(*subjects, profile=None, deny=(), trusted=(), records=None)`` builds a
  :class:`Permissions` over those extensions (the host's own SQLite file per test, or ``records``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from symphony.hookspecs import DistroProfile
from symphony.hookspecs.ports import PermissionRecordsPort
from symphony.host.permissions import EffectivePolicy, LocationResolver, Permissions, Subject


@dataclass(frozen=True)
class Tree:
    root: Path
    allowed: Path
    inside: Path
    secret: Path


@pytest.fixture
def paths(tmp_path: Path) -> Tree:
    root = (tmp_path / "tree").resolve()
    allowed = root / "allowed"
    allowed.mkdir(parents=True)
    inside = allowed / "notes.txt"
    inside.write_text("hello")
    secret = root / "secret.txt"
    secret.write_text("do not read")
    return Tree(root=root, allowed=allowed, inside=inside, secret=secret)


@pytest.fixture
def resolver(tmp_path: Path) -> LocationResolver:
    return LocationResolver(
        data_dir=tmp_path / "data",
        cache_dir=tmp_path / "cache",
        config_dir=tmp_path / "config",
        workspace=tmp_path / "workspace",
        temp_dir=tmp_path / "tmp",
    )


Make = Callable[..., Permissions]


def lookup_of(subjects: Sequence[Subject]) -> Callable[[str], Subject]:
    by_name = {subject.name: subject for subject in subjects}

    def lookup(name: str) -> Subject:
        if name not in by_name:
            raise LookupError(f"No installed extension is named {name!r}.")
        return by_name[name]

    return lookup


@pytest.fixture
def make(tmp_path: Path, resolver: LocationResolver) -> Iterator[Make]:
    made: list[Permissions] = []

    def build(
        *subjects: Subject,
        profile: DistroProfile | None = None,
        deny: Sequence[str] = (),
        trusted: Sequence[str] = (),
        records: PermissionRecordsPort | Path | None = None,
    ) -> Permissions:
        permissions = Permissions(
            records=records or tmp_path / "permissions.db",
            policy=EffectivePolicy.combine(profile, deny=deny, trusted=trusted),
            resolver=resolver,
            lookup=lookup_of(subjects),
            flush_interval=0.05,
        )
        made.append(permissions)
        return permissions

    yield build
    for permissions in made:
        permissions.close()
