"""Discovery through real installed distributions and the real ``symphony`` command.

Each broken plugin costs only itself; blocking, the enable allowlist, provider priority and
conflicts, and the cached entry-point index behave as documented.  The distributions are the
source trees in ``tests/distributions/``, installed with pip by the ``installer`` fixture.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

if TYPE_CHECKING:  # pytest imports conftest itself; annotations only need the names
    from tests.conftest import Installer, Symphony

BROKEN_PLUGINS = ["broken-import", "bad-signature", "unknown-hook", "raises-in-startup", "old-api"]
BUILTIN_PLUGINS = ["artifacts", "codecs", "data", "editor"]


def plugins(cli: Symphony, *options: str) -> dict[str, dict[str, Any]]:
    """``symphony [OPTIONS] plugins list --json`` as name -> record."""
    return {record["name"]: record for record in cli.json(*options, "plugins", "list")}


def port(health: dict[str, Any], name: str) -> dict[str, Any]:
    report: dict[str, Any] = next(p for p in health["ports"] if p["port"] == name)
    return report


def block(*names: str) -> tuple[str, str]:
    return "--set", f"plugins.block={msgspec.json.encode(list(names)).decode()}"


@pytest.fixture
def broken(installer: Installer, symphony: Any) -> Symphony:
    """The CLI over the site with every broken plugin plus replaces-provider."""
    runner: Symphony = symphony(installer.site("broken"))
    return runner


# -- failures are isolated and reported -------------------------------------------------------


@pytest.mark.slow
def test_plugin_failing_to_import_is_listed_as_failed_with_distribution_version_and_error(broken: Symphony) -> None:
    record = plugins(broken)["broken-import"]

    assert record["status"] == "failed"
    assert record["source"] == "third-party"
    assert (record["distribution"], record["version"]) == ("symphony-test-broken-import", "0.3.1")
    assert "ImportError" in record["error"]
    assert "libfrobnicate" in record["error"]


@pytest.mark.slow
def test_builtins_still_load_beside_plugins_that_fail(broken: Symphony) -> None:
    records = plugins(broken)

    assert {name: records[name]["status"] for name in BUILTIN_PLUGINS} == dict.fromkeys(BUILTIN_PLUGINS, "loaded")
    assert records["symphony-core"]["status"] == "loaded"


@pytest.mark.slow
def test_doctor_completes_and_exits_1_when_a_plugin_failed(broken: Symphony) -> None:
    health = broken.json("doctor", returncodes=(1,))

    assert health["status"] == "failed"
    problem = next(p for p in health["problems"] if "'broken-import' failed" in p["message"])
    assert problem["severity"] == "error"
    assert "symphony-test-broken-import 0.3.1" in problem["fix"]
    assert "editor" in health["checks"]  # the builtins' checks still ran


@pytest.mark.slow
def test_doctor_exits_0_once_the_failing_plugins_are_blocked(broken: Symphony) -> None:
    health = broken.json(*block(*BROKEN_PLUGINS), "doctor", returncodes=(0,))

    assert health["status"] != "failed"
    assert not [p for p in health["problems"] if p["severity"] == "error"]


@pytest.mark.slow
def test_hookimpl_with_an_argument_not_in_the_spec_is_refused_naming_the_argument(broken: Symphony) -> None:
    record = plugins(broken)["bad-signature"]

    assert record["status"] == "failed"
    assert "bogus" in record["error"]
    assert "symphony_health_checks" in record["error"]
    assert record["hooks"] == []


@pytest.mark.slow
def test_unknown_hook_fails_the_plugin_naming_the_hook(broken: Symphony) -> None:
    record = plugins(broken)["unknown-hook"]

    assert record["status"] == "failed"
    unknown, _, known = record["error"].partition("known hooks:")
    assert "symphony_helth_checks" in unknown
    assert "symphony_health_checks" in known
    assert "symphony_helth_checks" not in known  # the typo is not offered as a known hook


@pytest.mark.slow
def test_plugin_raising_in_startup_is_reported_by_doctor_and_taken_out(broken: Symphony) -> None:
    assert plugins(broken)["raises-in-startup"]["status"] == "loaded"  # loading alone does not start it

    health = broken.json("doctor", returncodes=(1,))

    problem = next(p for p in health["problems"] if "'raises-in-startup' failed" in p["message"])
    assert "symphony_startup" in problem["message"]
    assert "RuntimeError('raises-in-startup refuses to start')" in problem["message"]
    assert "raises-in-startup-check" not in health["checks"]  # its health check went with it
    assert health["checks"]["editor"]["status"] == "ok"


@pytest.mark.slow
def test_plugin_needing_another_api_is_refused_saying_what_it_needs(broken: Symphony) -> None:
    record = plugins(broken)["old-api"]

    assert record["status"] == "failed"
    assert "needs Symphony API ^2.0" in record["error"]
    assert "speaks 1.0" in record["error"]
    assert record["hooks"] == []


# -- blocking and the allowlist ---------------------------------------------------------------


@pytest.mark.slow
def test_blocked_plugin_is_listed_as_blocked_and_never_imported(broken: Symphony, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    marker = markers / "broken-import.imported"
    env = {"IMPORT_MARKER_DIR": str(markers)}

    assert plugins(broken)["broken-import"]["status"] == "failed"  # without the env: no marker yet
    broken.json("plugins", "list", env=env)
    assert marker.exists(), "control: the module leaves a marker when it is imported"
    marker.unlink()

    record = {r["name"]: r for r in broken.json(*block("broken-import"), "plugins", "list", env=env)}["broken-import"]

    assert record["status"] == "blocked"
    assert record["error"] is None
    assert record["hooks"] == []
    assert not marker.exists()


@pytest.mark.slow
def test_enable_allowlist_disables_every_other_plugin(broken: Symphony) -> None:
    records = plugins(broken, "--set", 'plugins.enable=["editor", "replaces-provider"]')

    statuses = {name: record["status"] for name, record in records.items()}
    assert statuses.pop("editor") == "loaded"
    assert statuses.pop("replaces-provider") == "loaded"
    assert statuses.pop("symphony-core") == "loaded"  # essential: not subject to the allowlist
    assert set(statuses.values()) == {"disabled"}
    assert {*BROKEN_PLUGINS, *BUILTIN_PLUGINS} - {"editor"} <= set(statuses)
    assert records["broken-import"]["error"] is None  # disabled plugins are not imported either


# -- providers ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_third_party_provider_at_normal_priority_replaces_the_builtin_trylast_provider(broken: Symphony) -> None:
    health = broken.json(*block(*BROKEN_PLUGINS), "doctor")

    report = port(health, "artifact_store")
    assert (report["provider"], report["type"], report["error"]) == ("replaces-provider", "MemoryArtifactStore", None)
    assert "artifact_store" in health["checks"]  # the builtin artifacts plugin is loaded, just outranked


@pytest.mark.slow
def test_two_providers_at_the_same_priority_are_a_conflict_naming_both(installer: Installer, symphony: Any) -> None:
    cli: Symphony = symphony(installer.site("providers"))

    health = cli.json("doctor", returncodes=(1,))

    report = port(health, "artifact_store")
    assert report["provider"] is None
    assert "'replaces-provider'" in report["error"]
    assert "'conflicting-provider'" in report["error"]
    assert "ports.artifact_store" in report["error"]  # says how to resolve it
    problem = next(p for p in health["problems"] if p["message"] == report["error"])
    assert problem["severity"] == "error"  # a conflict is broken configuration, not a missing optional port
    assert "ports.artifact_store" in problem["fix"]


@pytest.mark.slow
@pytest.mark.parametrize("chosen", ["replaces-provider", "conflicting-provider"])
def test_ports_setting_resolves_a_provider_conflict(installer: Installer, symphony: Any, chosen: str) -> None:
    cli: Symphony = symphony(installer.site("providers"))

    health = cli.json("--set", f"ports.artifact_store={chosen}", "doctor")

    report = port(health, "artifact_store")
    assert (report["provider"], report["type"], report["error"]) == (chosen, "MemoryArtifactStore", None)


# -- the entry-point index cache ---------------------------------------------------------------


def cached_index(cli: Symphony) -> Path:
    files = list(cli.cache_dir.glob("entry-points-*.msgpack"))
    assert len(files) == 1, f"expected one cached index in {cli.cache_dir}, found {files}"
    return files[0]


def forget_distributions(index_file: Path) -> bytes:
    """Rewrite a cached index as if nothing were installed, keeping its (still current) stamps."""
    index = msgspec.msgpack.decode(index_file.read_bytes())
    assert index["distributions"], "the index should list the builtin distributions"
    index["distributions"] = []
    doctored = msgspec.msgpack.encode(index)
    index_file.write_bytes(doctored)
    return doctored


@pytest.fixture
def empty_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    return site


def test_entry_point_index_is_cached_and_reused_while_nothing_changed(symphony: Any, empty_site: Path) -> None:
    cli: Symphony = symphony(empty_site)
    assert "editor" in plugins(cli)
    doctored = forget_distributions(cached_index(cli))

    records = plugins(cli)

    assert list(records) == ["symphony-core"]  # the run believed the cache instead of rescanning
    assert cached_index(cli).read_bytes() == doctored  # and did not rewrite it


def test_index_cache_setting_off_scans_without_a_cache_file(symphony: Any, empty_site: Path) -> None:
    cli: Symphony = symphony(empty_site)

    records = plugins(cli, "--set", "plugins.index_cache=false")

    assert "editor" in records
    assert not list(cli.cache_dir.glob("entry-points-*.msgpack"))


@pytest.mark.slow
def test_distribution_installed_into_an_indexed_site_is_found_on_the_next_run(
    installer: Installer, symphony: Any, empty_site: Path
) -> None:
    cli: Symphony = symphony(empty_site)
    assert "replaces-provider" not in plugins(cli)
    before = cached_index(cli).read_bytes()

    installer.install(empty_site, "replaces-provider")
    records = plugins(cli)

    assert records["replaces-provider"]["status"] == "loaded"
    assert cached_index(cli).read_bytes() != before  # rebuilt and saved


def test_reindex_discards_a_stale_cached_index(symphony: Any, empty_site: Path) -> None:
    cli: Symphony = symphony(empty_site)
    plugins(cli)
    forget_distributions(cached_index(cli))
    assert list(plugins(cli)) == ["symphony-core"]

    result = cli.run("plugins", "reindex")

    assert result.returncode == 0, result.stderr
    assert "Removed 1 cached index file(s)" in result.stdout
    assert "editor" in plugins(cli)
