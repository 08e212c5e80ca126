"""The host's pre-validation port: manifests checked in full, contributed checks run by target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import PreValidationError, PreValidatorSpec, hookimpl
from symphony.hookspecs.ports import CreateUserRequest, CreateWorkflowRequest, PreValidationPort
from symphony.host import Host
from symphony.host.extensions.plugin import PreValidation

from .helpers import manifest_text


class _NoShouting:
    """A plugin contributing a manifest check beyond the schema."""

    @hookimpl
    def symphony_pre_validators(self, context: Any) -> list[PreValidatorSpec]:
        def check(manifest: Any) -> None:
            if manifest.extension.author.isupper():
                raise PreValidationError("author is all capitals")

        return [PreValidatorSpec(name="no-shouting", target="extension_manifest", check=check)]


@pytest.fixture
def port() -> PreValidationPort:
    from symphony.host.extensions import plugin

    host = Host(plugins=[plugin, _NoShouting()], discover_plugins=False).load()
    resolved: PreValidationPort = host.port("pre_validation")
    return resolved


def test_the_host_provides_the_port_through_its_extensions_plugin(port: PreValidationPort) -> None:
    assert isinstance(port, PreValidation)
    assert isinstance(port, PreValidationPort)


def test_valid_manifest_passes_as_a_file_or_its_directory(port: PreValidationPort, tmp_path: Path) -> None:
    (tmp_path / "symphony-extension.toml").write_text(manifest_text())
    port.validate_extension_manifest(tmp_path)
    port.validate_extension_manifest(tmp_path / "symphony-extension.toml")


def test_invalid_manifest_raises_listing_every_problem(port: PreValidationPort, tmp_path: Path) -> None:
    path = tmp_path / "symphony-extension.toml"
    path.write_text(manifest_text().replace('"512MiB"', '"huge"').replace('type = "operator"', 'type = "gizmo"'))
    with pytest.raises(PreValidationError) as raised:
        port.validate_extension_manifest(path)
    lines = str(raised.value).splitlines()
    assert lines[0] == f"Manifest {path} has 2 problem(s):"
    assert lines[1].startswith("  extension.type: expected one of 'instrument', 'operator', 'addon'")
    assert lines[2].startswith("  resources.memory_limit: expected a size")


def test_contributed_manifest_checks_run_after_the_schema(port: PreValidationPort, tmp_path: Path) -> None:
    path = tmp_path / "symphony-extension.toml"
    path.write_text(manifest_text().replace('author = "Tests"', 'author = "TESTS"'))
    with pytest.raises(PreValidationError, match=r"no-shouting \(.*\): author is all capitals"):
        port.validate_extension_manifest(path)


def test_workflow_and_user_requests_get_their_technical_checks(port: PreValidationPort) -> None:
    port.validate_workflow_request(CreateWorkflowRequest(name="triage", spec={}))
    with pytest.raises(PreValidationError, match="expected a non-empty workflow name"):
        port.validate_workflow_request(CreateWorkflowRequest(name=" ", spec={}))
    with pytest.raises(PreValidationError, match="email: expected an address with '@'"):
        port.validate_user_request(CreateUserRequest(name="ada", email="ada.example.com"))
