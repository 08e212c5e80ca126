"""``symphony doctor`` as a user reads it: information apart from problems, each fix once."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from symphony.hookspecs import HealthCheck, HealthStatus, hookimpl
from symphony.host import Host, load_settings
from symphony.host.cli import cli
from symphony.host.cli._app import HostFactory


@pytest.fixture(autouse=True)
def private_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMPHONY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SYMPHONY_DATA_DIR", str(tmp_path / "data"))


def doctor(*plugins: object, args: tuple[str, ...] = ()) -> Result:
    """``symphony doctor`` over a host of just these plugins (no builtin), so only they decide its health."""
    factory = HostFactory(None, [])
    factory._host = Host(load_settings(), plugins=plugins, discover_plugins=False)
    return CliRunner().invoke(cli, [*args, "doctor"], obj=factory)


def test_a_port_no_plugin_provides_is_information_and_leaves_the_host_ok() -> None:
    result = doctor()
    assert result.exit_code == 0, result.output
    assert "info: no plugin provides text_editing, language, pit, pool_manager" in result.output
    assert "warning" not in result.output
    assert result.output.rstrip().endswith("overall: ok")


def test_quiet_leaves_the_information_out() -> None:
    result = doctor(args=("--quiet",))
    assert result.exit_code == 0, result.output
    assert "info:" not in result.output and "overall: ok" in result.output


class TwoChecksOneFix:
    @hookimpl
    def symphony_health_checks(self) -> list[HealthCheck]:
        def missing(name: str) -> HealthCheck:
            status = HealthStatus.failed(f"{name} needs libfoo", fix="Install libfoo.")
            return HealthCheck(name=name, check=lambda: status)

        return [missing("reader"), missing("writer")]


def test_a_fix_shared_by_several_problems_is_printed_once_after_them() -> None:
    result = doctor(TwoChecksOneFix())
    assert result.exit_code == 1
    lines = result.output.splitlines()
    reader = lines.index("error: reader: reader needs libfoo")
    assert lines[reader + 1 : reader + 3] == ["error: writer: writer needs libfoo", "    fix: Install libfoo."]
    assert result.output.count("Install libfoo.") == 1
