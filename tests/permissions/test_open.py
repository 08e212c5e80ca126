"""Where ``open_permissions`` keeps the records: port permission_records when provided, else the host's own file."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import ConfigurationError, HookCallError, hookimpl
from symphony.hookspecs.ports import HostContext, PermissionRecordsPort
from symphony.host.permissions import HostPermissionRecords, Subject, open_permissions, provided_records

from .conftest import HostWith


def _open(host_with: HostWith, **settings: Any) -> tuple[PermissionRecordsPort | None, Path]:
    host = host_with(**settings)
    records = provided_records(host)
    permissions = open_permissions(host.settings, None, lambda name: Subject(name=name), records=records)
    permissions.grants.grant("ext", ["system:processes"])
    permissions.close()
    return records, host.settings.data_dir


def test_the_default_distribution_keeps_grants_in_the_data_service(host_with: HostWith) -> None:
    records, data_dir = _open(host_with)
    assert records is not None and [g.permission for g in records.grants("ext")] == ["system:processes"]
    assert not (data_dir / "permissions.db").exists()


def test_a_host_without_a_provider_keeps_grants_in_its_own_file(host_with: HostWith) -> None:
    records, data_dir = _open(host_with, plugins={"block": ["data"]})
    assert records is None
    assert [g.permission for g in HostPermissionRecords(data_dir / "permissions.db").grants()] == ["system:processes"]


def test_the_own_file_is_where_permissions_database_says(host_with: HostWith, tmp_path: Path) -> None:
    _open(host_with, plugins={"block": ["data"]}, permissions={"database": tmp_path / "elsewhere.db"})
    assert [g.permission for g in HostPermissionRecords(tmp_path / "elsewhere.db").grants()] == ["system:processes"]


class _Broken:
    @hookimpl(tryfirst=True)
    def symphony_provide_permission_records(self, context: HostContext) -> PermissionRecordsPort:
        raise OSError("disk on fire")


def test_a_failing_provider_is_a_configuration_error_not_a_fallback(host_with: HostWith) -> None:
    host = host_with()
    host.register(_Broken(), name="broken-records")
    with pytest.raises(ConfigurationError, match=r"port permission_records failed.*disk on fire"):
        provided_records(host)


def test_a_chosen_provider_that_is_not_loaded_is_a_configuration_error(host_with: HostWith) -> None:
    host = host_with(plugins={"block": ["data"]}, ports={"permission_records": "data"})
    with pytest.raises(ConfigurationError, match="Cannot keep extension permissions"):
        provided_records(host)


def test_the_extension_runtime_is_not_served_when_the_records_fail(host_with: HostWith) -> None:
    host = host_with()
    host.register(_Broken(), name="broken-records")
    with pytest.raises(HookCallError, match=r"port permission_records failed.*disk on fire"):
        host.port("extension_runtime")


def test_symphony_audit_with_records_that_cannot_be_had_is_an_error_without_a_traceback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from symphony.host.cli import cli

    settings = tmp_path / "symphony.toml"
    settings.write_text(
        f'data_dir = "{tmp_path / "data"}"\ncache_dir = "{tmp_path / "cache"}"\n'
        'ports = { permission_records = "data" }\nplugins = { block = ["data"] }\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(settings), "audit"])
    assert result.exit_code != 0 and "Cannot keep extension permissions" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "data" / "permissions.db").exists()


def test_a_data_service_that_cannot_be_reached_is_a_configuration_error(
    host_with: HostWith, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SYMPHONY_DATA_TOKEN", "a-token")
    host = host_with(components={"data": {"options": {"url": f"http://127.0.0.1:{port}", "timeout": 5}}})
    records = provided_records(host)
    with pytest.raises(ConfigurationError, match=r"Cannot read the extension permissions \(NetworkError"):
        open_permissions(host.settings, None, lambda name: Subject(name=name), records=records)
    assert not (host.settings.data_dir / "permissions.db").exists()
