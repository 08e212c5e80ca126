"""Which directories a confined extension is given, from its granted file patterns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from symphony.host import Settings
from symphony.host.extensions._runtime import _directory
from symphony.host.permissions import Permissions, Subject, open_permissions


@pytest.fixture
def permissions(tmp_path: Path) -> Iterator[Permissions]:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")

    def lookup(name: str) -> Subject:
        return Subject(name=name)

    opened = open_permissions(settings, None, lookup, workspace=tmp_path / "workspace")
    yield opened
    opened.close()


def test_a_named_location_is_the_extensions_own_directory_created_on_first_use(permissions: Permissions) -> None:
    directory = _directory("data", permissions, "notes")
    assert directory == permissions.resolver.resolve("notes", "data")
    assert directory is not None and directory.is_dir()


def test_a_path_inside_a_named_location_stays_inside_it(permissions: Permissions) -> None:
    models = permissions.resolver.resolve("notes", "data") / "models"
    models.mkdir(parents=True)
    assert _directory("data/models/**", permissions, "notes") == models


def test_a_relative_pattern_is_relative_to_the_workspace(permissions: Permissions, tmp_path: Path) -> None:
    (tmp_path / "workspace" / "docs").mkdir(parents=True)
    assert _directory("docs/*.md", permissions, "notes") == (tmp_path / "workspace" / "docs").resolve()
