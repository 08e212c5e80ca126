"""Both places the host's permission records can live, so every behaviour is specified against each.

- ``records`` (parametrised ``host_file`` / ``data_service``): the host's own SQLite file (what a host without a
  ``permission_records`` provider uses), or port ``permission_records`` of a host of the default distribution (the
  builtin data plugin's embedded service under the test's data directory).
- ``host_with``: ``host_with(*overrides)`` a loaded Host whose data and cache live under the test's directory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs.ports import PermissionRecordsPort
from symphony.host import Host, Settings
from symphony.host.permissions import HostPermissionRecords, provided_records

HostWith = Callable[..., Host]


@pytest.fixture
def host_with(tmp_path: Path) -> Iterator[HostWith]:
    hosts: list[Host] = []

    def make(**settings: Any) -> Host:
        host = Host(Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache", **settings)).load()
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        asyncio.run(host.stop())


@pytest.fixture(params=["host_file", "data_service"])
def records(request: pytest.FixtureRequest, tmp_path: Path, host_with: HostWith) -> PermissionRecordsPort:
    if request.param == "host_file":
        return HostPermissionRecords(tmp_path / "permissions.db")
    found = provided_records(host_with())
    assert found is not None, "the default distribution keeps permissions in the data service"
    return found
