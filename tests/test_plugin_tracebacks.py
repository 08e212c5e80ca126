"""A plugin that fails keeps the traceback its author needs, shown by ``symphony plugins list --traceback``.

Through the real ``symphony`` command over the installed broken distributions.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from symphony.hookspecs import hookimpl
from symphony.hookspecs.ports import HostContext
from symphony.host import Host, Settings

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Installer, Symphony


@pytest.fixture
def broken(installer: Installer, symphony: Any) -> Symphony:
    runner: Symphony = symphony(installer.site("broken"))
    return runner


def record_of(cli: Symphony, name: str, *options: str) -> dict[str, Any]:
    records: list[dict[str, Any]] = cli.json("plugins", "list", *options)
    return next(record for record in records if record["name"] == name)


@pytest.mark.slow
def test_plugin_failing_to_import_keeps_the_traceback_to_the_raising_line(broken: Symphony) -> None:
    record = record_of(broken, "broken-import")

    assert record["status"] == "failed"
    assert record["traceback"].startswith("Traceback (most recent call last):")
    assert "symphony_test_broken_import/__init__.py" in record["traceback"]
    assert 'raise ImportError("symphony_test_broken_import needs libfrobnicate' in record["traceback"]


@pytest.mark.slow
def test_plugin_raising_in_startup_keeps_the_traceback_of_its_startup_hook(broken: Symphony) -> None:
    record = record_of(broken, "raises-in-startup", "--traceback")

    assert record["status"] == "failed"
    assert "symphony_startup" in record["error"]
    assert "in symphony_startup" in record["traceback"]
    assert "RuntimeError: raises-in-startup refuses to start" in record["traceback"]


@pytest.mark.slow
def test_plugins_list_traceback_prints_each_failed_plugins_traceback(broken: Symphony) -> None:
    result = broken.run("plugins", "list", "--traceback")

    assert result.returncode == 0, result.stderr
    assert "Traceback of plugin 'broken-import':" in result.stdout
    assert "Traceback of plugin 'raises-in-startup':" in result.stdout
    assert "RuntimeError: raises-in-startup refuses to start" in result.stdout


@pytest.mark.slow
def test_plugins_list_without_traceback_prints_no_traceback(broken: Symphony) -> None:
    result = broken.run("plugins", "list")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout


@pytest.mark.slow
def test_a_loaded_plugin_has_no_traceback(broken: Symphony) -> None:
    assert record_of(broken, "editor")["traceback"] is None


class FailsToStart:
    @hookimpl
    async def symphony_startup(self, context: HostContext) -> None:
        raise RuntimeError("cannot start")


async def test_a_plugin_failure_is_logged_with_its_exception(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    caplog.set_level(logging.INFO, logger="symphony.host")

    async with Host(settings, plugins=[FailsToStart()], discover_plugins=False):
        pass

    record = next(r for r in caplog.records if "disabled" in r.getMessage())
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "cannot start"
