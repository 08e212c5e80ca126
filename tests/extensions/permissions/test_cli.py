"""``symphony ext permissions|grant|revoke`` and ``symphony audit``, with declarations built in the test."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from symphony.hookspecs import FileAccess, ModelAccess, NetworkAccess, SystemAccess
from symphony.hookspecs.ports import PermissionRecordsPort
from symphony.host import Host, Settings
from symphony.host.cli._app import HostFactory
from symphony.host.cli._audit import audit
from symphony.host.cli._permissions import make_commands
from symphony.host.permissions import AuditLog, NetworkRequest, Permissions, Subject, provided_records

from .conftest import Make, lookup_of

SUBJECTS = (
    Subject(
        name="fetcher",
        publisher="someone",
        declared=(
            NetworkAccess(hosts=("api.example.com",)),
            FileAccess(scope="read", paths=("~/notes/**",)),
            ModelAccess(models=("gpt-4",)),
        ),
    ),
    Subject(name="sysadmin", declared=(SystemAccess(capabilities=("processes",)),)),
)

Run = Callable[..., Result]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def runner(home: Path, *overrides: str) -> Run:
    """``run(*args)``: the commands under a root group whose settings point into ``home``."""

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = HostFactory(None, [f"data_dir={home / 'data'}", f"cache_dir={home / 'cache'}", *overrides])

    ext = click.Group("ext")
    for command in make_commands(lambda _factory: lookup_of(SUBJECTS)):
        ext.add_command(command)
    root.add_command(ext)
    root.add_command(audit)

    def invoke(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(root, list(args), env={"SYMPHONY_CONFIG": None})
        assert result.exit_code == code, result.output
        return result

    return invoke


@pytest.fixture
def run(home: Path) -> Run:
    return runner(home)


def test_grant_then_permissions_shows_it_granted_and_effective(run: Run) -> None:
    assert (
        "Granted network:api.example.com to fetcher."
        in run("ext", "grant", "fetcher", "network:api.example.com").output
    )
    report = json.loads(run("ext", "permissions", "fetcher", "--json").output)
    assert report["effective"] == ["network:api.example.com"]
    assert [g["permission"] for g in report["granted"]] == ["network:api.example.com"]
    assert report["granted"][0]["source"] == "symphony ext grant"


def test_permissions_lists_what_is_declared_but_not_granted_with_the_command(run: Run) -> None:
    output = run("ext", "permissions", "fetcher").output
    assert "declared, not granted" in output
    assert "symphony ext grant fetcher network:api.example.com 'file:read:~/notes/**' model:gpt-4" in output
    report = json.loads(run("ext", "permissions", "fetcher", "--json").output)
    assert report["missing"] == ["network:api.example.com", "file:read:~/notes/**", "model:gpt-4"]
    assert (
        report["grant_command"]
        == "symphony ext grant fetcher network:api.example.com 'file:read:~/notes/**' model:gpt-4"
    )


def test_revoke_removes_a_grant(run: Run) -> None:
    run("ext", "grant", "fetcher", "network:api.example.com", "model:gpt-4")
    assert "Revoked model:gpt-4 from fetcher." in run("ext", "revoke", "fetcher", "model:gpt-4").output
    report = json.loads(run("ext", "permissions", "fetcher", "--json").output)
    assert report["effective"] == ["network:api.example.com"]


def test_revoking_what_is_not_granted_says_what_is(run: Run) -> None:
    run("ext", "grant", "fetcher", "network:api.example.com")
    output = run("ext", "revoke", "fetcher", "model:gpt-4", code=1).output
    assert "model:gpt-4 is not granted to fetcher; its grants are: network:api.example.com" in output


def test_a_malformed_permission_is_a_usage_error_listing_the_accepted_forms(run: Run) -> None:
    output = run("ext", "grant", "fetcher", "net:api.example.com", code=2).output
    assert "unknown kind 'net'" in output and "Accepted forms: file:<read|write|execute|admin>" in output


def test_granting_to_an_unknown_extension_fails_naming_it(run: Run) -> None:
    assert "No installed extension is named 'ghost'" in run("ext", "grant", "ghost", "model:x", code=1).output


def test_granting_something_undeclared_warns_that_it_has_no_effect(run: Run) -> None:
    result = run("ext", "grant", "sysadmin", "system:devices")
    assert "does not declare system:devices; the grant has no effect" in result.output


def test_a_model_grant_takes_a_budget(run: Run) -> None:
    output = run("ext", "grant", "fetcher", "model:gpt-4", "--calls", "10", "--cost", "2.5").output
    assert "Granted model:gpt-4 to fetcher (budget per run: calls 10, cost 2.5)." in output
    granted = json.loads(run("ext", "permissions", "fetcher", "--json").output)["granted"]
    assert granted[0]["budget"] == {"calls": 10, "tokens": None, "cost": 2.5}


def test_a_budget_without_a_model_permission_is_a_usage_error(run: Run) -> None:
    assert (
        "apply to model permissions"
        in run("ext", "grant", "sysadmin", "system:processes", "--calls", "1", code=2).output
    )


def test_trust_marks_an_extension_trusted(run: Run) -> None:
    run("ext", "grant", "sysadmin", "--trust")
    report = json.loads(run("ext", "permissions", "sysadmin", "--json").output)
    assert report["trusted"].startswith("the user marked it trusted") and report["effective"] == ["system:processes"]
    run("ext", "revoke", "sysadmin", "--trust")
    assert json.loads(run("ext", "permissions", "sysadmin", "--json").output)["trusted"] is None


def test_a_grant_the_policy_forbids_is_refused_saying_where_the_denial_comes_from(home: Path) -> None:
    run = runner(home, 'permissions.deny=["network"]')
    output = run("ext", "grant", "fetcher", "network:api.example.com", code=1).output
    assert "forbids network:api.example.com for every extension (the setting permissions.deny)" in output


def test_permissions_shows_what_the_policy_forbids(home: Path) -> None:
    run = runner(home, 'permissions.deny=["model"]')
    report = json.loads(run("ext", "permissions", "fetcher", "--json").output)
    assert report["forbidden"] == ["model:gpt-4"] and "model:gpt-4" not in report["missing"]


@pytest.fixture
def records(home: Path) -> Iterator[PermissionRecordsPort]:
    """The records the commands use: port permission_records of a host with their settings (the data service)."""
    host = Host(Settings(data_dir=home / "data", cache_dir=home / "cache")).load()
    found = provided_records(host)
    assert found is not None, "the default distribution keeps permissions in the data service"
    yield found
    asyncio.run(host.stop())


def permissions_in(records: PermissionRecordsPort, make: Make) -> Permissions:
    return make(*SUBJECTS, records=records)


def test_audit_lists_both_decisions_as_json(run: Run, records: PermissionRecordsPort, make: Make) -> None:
    permissions = permissions_in(records, make)
    permissions.grants.grant("fetcher", ["network:api.example.com"])
    checker = permissions.checker()
    checker.check("fetcher", NetworkRequest(host="api.example.com", port=443), run_id="r1")
    checker.check("fetcher", NetworkRequest(host="evil.example.com", port=443), run_id="r1")
    permissions.close()
    entries = json.loads(run("audit", "--json").output)
    assert [(e["decision"], e["target"], e["run_id"]) for e in entries] == [
        ("denied", "evil.example.com:443", "r1"),
        ("allowed", "api.example.com:443", "r1"),
    ]
    denied = json.loads(run("audit", "--decision", "denied", "--extension", "fetcher", "--json").output)
    assert len(denied) == 1 and "does not declare it" in denied[0]["reason"]
    assert len(json.loads(run("audit", "--limit", "1", "--json").output)) == 1


def test_audit_prints_a_table_for_people(run: Run, records: PermissionRecordsPort, make: Make) -> None:
    permissions = permissions_in(records, make)
    permissions.checker().check("sysadmin", NetworkRequest(host="x.org"))
    permissions.close()
    output = run("audit").output
    assert "sysadmin" in output and "denied" in output and "network:x.org" in output


def test_audit_with_nothing_recorded_says_so(run: Run) -> None:
    assert "No decisions recorded." in run("audit").output


@pytest.mark.slow
def test_the_installed_symphony_command_serves_audit(home: Path, records: PermissionRecordsPort, make: Make) -> None:
    permissions = permissions_in(records, make)
    permissions.checker().check(
        "fetcher", NetworkRequest.from_url("https://u:SECRET-TOKEN@api.example.com/?k=SECRET-TOKEN")
    )
    permissions.close()
    env = {"SYMPHONY_DATA_DIR": str(home / "data"), "SYMPHONY_CACHE_DIR": str(home / "cache"), "PATH": "/usr/bin:/bin"}
    symphony = Path(sys.executable).parent / "symphony"
    result = subprocess.run(
        [str(symphony), "audit", "--json"], capture_output=True, text=True, env=env, cwd=home, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)
    assert entry["extension"] == "fetcher" and entry["decision"] == "denied"
    assert "SECRET-TOKEN" not in result.stdout + result.stderr
    assert AuditLog(records).entries()[0].id == entry["id"]


def test_the_default_lookup_reads_declarations_from_the_installed_manifest(home: Path, site: Path) -> None:
    from ..helpers import write_extension

    write_extension(site, "demo-ext")

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = HostFactory(None, [f"data_dir={home / 'data'}", f"cache_dir={home / 'cache'}"])

    for command in make_commands():
        root.add_command(command)
    result = CliRunner().invoke(root, ["permissions", "demo-ext", "--json"], env={"SYMPHONY_CONFIG": None})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["publisher"], report["declared"], report["missing"]) == (
        "Tests",
        ["file:read:config"],
        ["file:read:config"],
    )
    missing = CliRunner().invoke(root, ["grant", "no-such-ext", "model:x"], env={"SYMPHONY_CONFIG": None})
    assert missing.exit_code == 1 and "No installed extension is named 'no-such-ext'" in missing.output
