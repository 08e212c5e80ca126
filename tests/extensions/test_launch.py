"""The kernel rules a confined extension gets from its granted file patterns (no runtime started).

The runtimes' side of each rule (Landlock, wasm preopens) is proven with real
hostile extensions in ``test_grant_confinement.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from symphony.hookspecs import ExtensionError
from symphony.hookspecs.runtimes import PathRule
from symphony.host import Settings
from symphony.host.extensions._runtime import _file_rules
from symphony.host.permissions import Permissions, Subject, open_permissions


@pytest.fixture
def permissions(tmp_path: Path) -> Iterator[Permissions]:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")

    def lookup(name: str) -> Subject:
        return Subject(name=name)

    opened = open_permissions(settings, None, lookup, workspace=tmp_path / "workspace")
    yield opened
    opened.close()


def rules(permissions: Permissions, *grants: str, kind: str = "subprocess") -> tuple[PathRule, ...]:
    return _file_rules(list(grants), permissions, "notes", kind)[0]


def test_a_named_location_is_the_extensions_own_directory_created_on_first_use(permissions: Permissions) -> None:
    directory = permissions.resolver.resolve("notes", "data")
    found, guest = _file_rules(["file:admin:data"], permissions, "notes", "wasm")
    assert found == (
        PathRule(path=str(directory), operations=("read", "list", "write", "create", "delete", "execute")),
    )
    assert directory.is_dir() and guest == {str(directory): "/data"}


def test_a_write_grant_gives_no_read_rule(permissions: Permissions, tmp_path: Path) -> None:
    assert rules(permissions, f"file:write:{tmp_path}/**") == (
        PathRule(path=str(tmp_path), operations=("list", "write", "create", "delete")),
    )


def test_a_write_only_tree_in_wasm_is_refused_saying_to_grant_reading_too(permissions: Permissions) -> None:
    with pytest.raises(ExtensionError) as refused:
        rules(permissions, "file:write:data", kind="wasm")
    message = str(refused.value)
    assert "'file:write:data'" in message
    assert "symphony ext grant notes file:read:data" in message and "file:admin:data" in message


def test_a_read_and_a_write_grant_on_one_tree_are_given_together_in_wasm(permissions: Permissions) -> None:
    directory = str(permissions.resolver.resolve("notes", "data"))
    assert rules(permissions, "file:read:data", "file:write:data", kind="wasm") == (
        PathRule(path=directory, operations=("read", "list")),
        PathRule(path=directory, operations=("list", "write", "create", "delete")),
    )


def test_a_write_grant_below_a_read_tree_is_given_in_wasm(permissions: Permissions, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    assert rules(permissions, f"file:read:{tmp_path}/**", f"file:write:{tmp_path}/out/**", kind="wasm") == (
        PathRule(path=str(tmp_path), operations=("read", "list")),
        PathRule(path=str(tmp_path / "out"), operations=("list", "write", "create", "delete")),
    )


def test_a_path_inside_a_named_location_is_created_and_stays_inside_it(permissions: Permissions) -> None:
    models = permissions.resolver.resolve("notes", "data") / "models"
    assert rules(permissions, "file:read:data/models/**") == (PathRule(path=str(models), operations=("read", "list")),)
    assert models.is_dir()


def test_each_operation_list_is_kept_as_granted(permissions: Permissions, tmp_path: Path) -> None:
    assert rules(permissions, f"file:write:{tmp_path}/**:write,create") == (
        PathRule(path=str(tmp_path), operations=("write", "create")),
    )


def test_a_glob_below_a_directory_is_expanded_to_the_matching_files_with_file_operations_only(
    permissions: Permissions, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").touch()
    (tmp_path / "b.key").touch()
    assert rules(permissions, f"file:admin:{tmp_path}/*.txt") == (
        PathRule(path=str(tmp_path / "a.txt"), operations=("read", "write", "execute")),
    )


def test_a_literal_directory_may_only_be_listed(permissions: Permissions, tmp_path: Path) -> None:
    assert rules(permissions, f"file:read:{tmp_path}") == (PathRule(path=str(tmp_path), operations=("list",)),)


def test_a_missing_directory_and_a_relative_pattern_grant_nothing(permissions: Permissions, tmp_path: Path) -> None:
    (tmp_path / "workspace" / "docs").mkdir(parents=True)
    assert rules(permissions, f"file:write:{tmp_path}/missing/**", "file:read:docs/**") == ()
    assert not (tmp_path / "missing").exists()
