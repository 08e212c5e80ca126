"""pytest-symphony, the SDK's pytest plugin: loaded by pytest alone, driving the real ``symphony`` command.

Its helpers run against the sample in-process operator, installed with real pip into a site
of this module; each check of a helper's failure makes sure the helper can fail.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from symphony.hookspecs.pytest_plugin import SymphonyHost

if TYPE_CHECKING:
    from tests.conftest import Installer

OPERATOR = "sample-operator"
TEXT = {"text": "b a b"}


def test_pytest_finds_the_plugin_through_its_pytest11_entry_point() -> None:
    (entry,) = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "symphony"]
    assert entry.value == "symphony.hookspecs.pytest_plugin"


def test_the_sdk_imports_no_pytest_and_the_plugin_no_host() -> None:
    code = textwrap.dedent(
        """
        import sys
        import symphony.hookspecs
        assert "pytest" not in sys.modules, "the SDK imported pytest"
        import symphony.hookspecs.pytest_plugin
        assert not [m for m in sys.modules if m.startswith("symphony.host")], "the plugin imported the host"
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_symphony_project_refuses_a_project_that_declares_no_extension(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "not-an-extension"\n', encoding="utf-8")
    (tmp_path / "test_it.py").write_text("def test_it(symphony_project):\n    pass\n", encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_it.py")]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "declares no extension" in result.stdout + result.stderr
    assert "set the ini option symphony_project to its directory" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def site(installer: Installer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return installer.install(tmp_path_factory.mktemp("plugin-site"), OPERATOR)


@pytest.fixture
def host(symphony_host: SymphonyHost, site: Path) -> SymphonyHost:
    """The plugin's own fixture, over the site holding the sample operator."""
    return SymphonyHost(home=symphony_host.home, command=symphony_host.command, extra_env={"PYTHONPATH": str(site)})


@pytest.mark.slow
def test_assert_denied_returns_the_refusal_of_an_untrusted_in_process_extension(host: SymphonyHost) -> None:
    message = host.assert_denied(OPERATOR, "text-stats", TEXT, permission="--trust")
    assert f"trust it with 'symphony ext grant {OPERATOR} --trust'" in message


@pytest.mark.slow
def test_assert_denied_fails_when_the_invocation_succeeds(host: SymphonyHost) -> None:
    host.grant(OPERATOR, "--trust")
    with pytest.raises(AssertionError, match="expected a denial of --trust of sample-operator text-stats"):
        host.assert_denied(OPERATOR, "text-stats", TEXT, permission="--trust")


@pytest.mark.slow
def test_assert_denied_fails_when_the_refusal_is_for_another_permission(host: SymphonyHost) -> None:
    with pytest.raises(AssertionError, match=r"expected a denial of network:127\.0\.0\.1"):
        host.assert_denied(OPERATOR, "text-stats", TEXT, permission="network:127.0.0.1")


@pytest.mark.slow
def test_invoke_returns_what_the_granted_extension_computed(host: SymphonyHost) -> None:
    host.grant(OPERATOR, "--trust")
    assert host.invoke(OPERATOR, "text-stats", TEXT) == {"lines": 1, "words": 3, "top_words": ["b", "a"]}


@pytest.mark.slow
def test_each_host_keeps_its_grants_in_its_own_data_directory(host: SymphonyHost, site: Path, tmp_path: Path) -> None:
    host.grant(OPERATOR, "--trust")
    other = SymphonyHost(home=tmp_path / "other", command=host.command, extra_env=host.extra_env)
    other.assert_denied(OPERATOR, "text-stats", TEXT, permission="--trust")


@pytest.mark.slow
def test_invoke_fails_with_the_commands_error(host: SymphonyHost) -> None:
    with pytest.raises(AssertionError, match=r"(?s)symphony failed:.*runs in the host's process"):
        host.invoke(OPERATOR, "text-stats", TEXT)


def test_validate_fails_with_every_problem_of_an_invalid_manifest(symphony_host: SymphonyHost, tmp_path: Path) -> None:
    manifest = tmp_path / "symphony-extension.toml"
    manifest.write_text('schema_version = 1\n[extension]\nname = "Bad Name"\n', encoding="utf-8")
    with pytest.raises(AssertionError, match=r"(?s)the manifest is not valid:.*extension\.name"):
        symphony_host.validate(manifest)
