"""Closing: what the permissions service opened from a path it closes; what the caller passed in stays open."""

from __future__ import annotations

import os
from pathlib import Path

from symphony.host.permissions import EffectivePolicy, HostPermissionRecords, LocationResolver, Permissions, Subject


def _open_files(database: Path) -> list[str]:
    """This process's descriptors on ``database`` and its -wal and -shm."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
        if target.startswith(str(database)):
            found.append(target)
    return found


def _permissions(records: HostPermissionRecords | Path, tmp_path: Path) -> Permissions:
    return Permissions(
        records=records,
        policy=EffectivePolicy(),
        resolver=LocationResolver(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"),
        lookup=lambda name: Subject(name=name, declared=()),
    )


def test_closing_permissions_opened_from_a_path_closes_the_database_files(tmp_path: Path) -> None:
    database = tmp_path / "permissions.db"
    permissions = _permissions(database, tmp_path)
    permissions.grants.grant("fetcher", ["system:processes"])
    assert _open_files(database), "the grant was written through an open connection"
    permissions.close()
    assert _open_files(database) == []


def test_closing_permissions_leaves_records_passed_in_open(tmp_path: Path) -> None:
    records = HostPermissionRecords(tmp_path / "permissions.db")
    _permissions(records, tmp_path).close()
    records.grant([])  # still usable: the caller closes what it opened
    assert records.version() == 1
    records.close()


def test_closed_host_records_hold_no_descriptor(tmp_path: Path) -> None:
    database = tmp_path / "permissions.db"
    records = HostPermissionRecords(database)
    records.grants()
    records.close()
    assert _open_files(database) == []
