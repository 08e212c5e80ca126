"""``symphony registry use|sync|status`` and ``symphony ext search`` as a user runs them, against the real server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from symphony.registry.client import load_config
from tests.conftest import Symphony

from .conftest import RegistryServer, publish_wheel
from .wheels import make_extension_wheel, manifest_text


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory, registry_server: RegistryServer) -> Symphony:
    """A user whose host uses the session's index (shared: each ``symphony`` run costs a host start)."""
    runner = Symphony(sites=(), home=tmp_path_factory.mktemp("user"))
    result = runner.run("registry", "use", registry_server.url, "--root", str(registry_server.root))
    assert result.returncode == 0, result.stderr
    return runner


def _publish(server: RegistryServer, directory: Path, name: str, **options: object) -> Path:
    wheel = make_extension_wheel(
        directory,
        distribution=name,
        version="1.0.0",
        extension=name,
        publisher="Acme Labs",
        **options,  # type: ignore[arg-type]
    )
    publish_wheel(server, wheel)
    return wheel


def _operator(name: str) -> str:
    """A manifest contributing an operator ``summarize`` instead of the usual instrument ``echo``."""
    text = manifest_text(extension=name, version="1.0.0", publisher="Acme Labs", module=name.replace("-", "_"))
    return (
        text.replace('type = "instrument"', 'type = "operator"')
        .replace("[[contributes.instruments]]", "[[contributes.operators]]")
        .replace('name = "echo"', 'name = "summarize"')
    )


def _names(runner: Symphony, *args: str) -> list[str]:
    return [hit["name"] for hit in runner.json("ext", "search", *args)]


def test_ext_help_lists_search_beside_the_hosts_own_commands(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("ext", "--help")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert {"search", "list", "show", "validate", "grant"} <= listed


def test_search_finds_a_published_extension_by_name(
    user: Symphony, registry_server: RegistryServer, tmp_path: Path
) -> None:
    _publish(registry_server, tmp_path, "r2-cli-findable")
    (hit,) = user.json("ext", "search", "r2-cli-findable", "--max-age", "0")
    assert (hit["name"], hit["version"], hit["publisher"], hit["instruments"]) == (
        "r2-cli-findable",
        "1.0.0",
        "Acme Labs",
        ["echo"],
    )


def test_search_filters_by_contribution(user: Symphony, registry_server: RegistryServer, tmp_path: Path) -> None:
    _publish(registry_server, tmp_path, "r2-cli-operator", manifest=_operator("r2-cli-operator"))
    _publish(registry_server, tmp_path, "r2-cli-instrument")
    assert _names(user, "r2-cli", "--max-age", "0", "--contributes", "operator") == ["r2-cli-operator"]
    assert "r2-cli-operator" not in _names(user, "r2-cli", "--contributes", "instrument")


def test_search_filters_by_declared_capability(user: Symphony, registry_server: RegistryServer, tmp_path: Path) -> None:
    _publish(registry_server, tmp_path, "r2-cli-online", capabilities={"network_access": ["api.r2.example"]})
    _publish(registry_server, tmp_path, "r2-cli-offline")
    found = _names(user, "r2-cli", "--max-age", "0", "--capability", "network:api.r2.example")
    assert found == ["r2-cli-online"]


def test_search_syncs_first_when_the_catalogue_is_older_than_max_age(
    user: Symphony, registry_server: RegistryServer, tmp_path: Path
) -> None:
    _publish(registry_server, tmp_path, "r2-cli-fresh")
    assert _names(user, "r2-cli-fresh", "--offline") == []
    assert _names(user, "r2-cli-fresh") == []  # synced moments ago: younger than the default 10 minutes
    assert _names(user, "r2-cli-fresh", "--max-age", "0") == ["r2-cli-fresh"]


def test_search_prints_what_an_extension_offers_and_asks(
    user: Symphony, registry_server: RegistryServer, tmp_path: Path
) -> None:
    _publish(registry_server, tmp_path, "r2-cli-shown", capabilities={"network_access": ["api.r2.example"]})
    result = user.run("ext", "search", "r2-cli-shown", "--max-age", "0")
    assert result.returncode == 0, result.stderr
    assert "r2-cli-shown 1.0.0  by Acme Labs" in result.stdout
    assert "instruments: echo" in result.stdout
    assert "capabilities: network:api.r2.example" in result.stdout


def test_sync_reports_full_then_incremental_counts(
    symphony: Callable[..., Symphony], registry_server: RegistryServer, tmp_path: Path
) -> None:
    runner = symphony()
    first = runner.json("registry", "use", registry_server.url, "--root", str(registry_server.root))
    _publish(registry_server, tmp_path, "r2-cli-sync")
    second = runner.json("registry", "sync")
    assert (first["full"], first["bins_fetched"]) == (True, 64)
    assert (second["full"], second["bins_fetched"]) == (False, 1)
    assert second["releases"] == first["releases"] + 1


def test_status_shows_the_current_index_and_its_catalogue(user: Symphony, registry_server: RegistryServer) -> None:
    status = user.json("registry", "status")
    (index,) = status["indexes"]
    assert (status["current"], index["url"], index["current"], index["bins"]) == (
        "default",
        registry_server.url,
        True,
        64,
    )
    assert index["age_seconds"] is not None and index["releases"] > 0


def test_use_refuses_a_file_that_is_not_root_metadata(symphony: Callable[..., Symphony], tmp_path: Path) -> None:
    runner = symphony()
    bogus = tmp_path / "root.json"
    bogus.write_text('{"signed": {}}')
    result = runner.run("registry", "use", "http://127.0.0.1:9/", "--root", str(bogus))
    assert result.returncode == 1
    assert "is not TUF root metadata" in result.stderr and "Traceback" not in result.stderr
    assert load_config(runner.data_dir).indexes == {}


def test_use_of_an_index_that_does_not_answer_keeps_nothing(
    symphony: Callable[..., Symphony], registry_server: RegistryServer
) -> None:
    runner = symphony()
    result = runner.run("registry", "use", "http://127.0.0.1:9/", "--root", str(registry_server.root))
    assert result.returncode == 1
    assert "Check that the index is running" in result.stderr and "Traceback" not in result.stderr
    assert "Connection refused" in result.stderr and "Retrying" not in result.stderr  # why, said once
    assert load_config(runner.data_dir).indexes == {}


def test_a_capability_filter_naming_no_permission_kind_is_refused(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("ext", "search", "--capability", "internet")
    assert result.returncode == 2
    assert "'internet' names no permission kind: give one of file, network, system, model" in result.stderr


def test_search_without_an_index_says_how_to_configure_one(symphony: Callable[..., Symphony]) -> None:
    result = symphony().run("ext", "search", "anything")
    assert result.returncode == 1
    assert "symphony registry use URL --root ROOT.json" in result.stderr and "Traceback" not in result.stderr
