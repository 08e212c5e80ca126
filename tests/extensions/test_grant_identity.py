"""Grants belong to the installed distribution, not to the extension's name.

Real pip installs and uninstalls in a throwaway virtual environment (which
sees Symphony through a ``.pth`` file), and the real ``symphony`` command.
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from .venv_env import Environment

pytestmark = pytest.mark.slow

PERMISSION = "network:api.example.com"


def _manifest(publisher: str, version: str) -> str:
    return textwrap.dedent(
        f"""\
        schema_version = 1

        [extension]
        name = "notes"
        version = "{version}"
        type = "operator"
        author = "{publisher}"

        [capabilities]
        network_access = ["api.example.com"]

        [runtime]
        kind = "subprocess"
        entry = "notes_ext.main:run"

        [[contributes.operators]]
        name = "notes-echo"
        inputs = {{ value = {{ type = "json" }} }}
        outputs = {{ value = {{ type = "json" }} }}
        """
    )


def install_notes(env: Environment, distribution: str, *, publisher: str, version: str = "1.0.0") -> None:
    """Write a distribution providing the extension ``notes`` and pip install it."""
    source = env.root / f"{distribution}-{version}-{publisher}"
    package = source / "src" / "notes_ext"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "main.py").write_text(f"def run(operation, input):\n    raise RuntimeError({distribution!r})\n")
    (package / "symphony-extension.toml").write_text(_manifest(publisher, version), encoding="utf-8")
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling>=1.24"]
            build-backend = "hatchling.build"

            [project]
            name = "{distribution}"
            version = "{version}"

            [project.entry-points."symphony.extensions"]
            notes = "notes_ext"

            [tool.hatch.build.targets.wheel]
            packages = ["src/notes_ext"]
            """
        ),
        encoding="utf-8",
    )
    env.install(source)


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    return Environment(tmp_path)


def test_a_distribution_reusing_an_uninstalled_extensions_name_inherits_none_of_its_grants(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION)
    assert env.json("ext", "permissions", "notes")["effective"] == [PERMISSION]
    env.uninstall("acme-notes")
    install_notes(env, "mallory-notes", publisher="Mallory")

    report = env.json("ext", "permissions", "notes")

    assert (report["granted"], report["effective"], report["missing"]) == ([], [], [PERMISSION])
    assert "'acme-notes by Acme'" in report["replaced_grants"]
    assert "not inherited" in report["replaced_grants"]


def test_ext_permissions_tells_the_user_whose_the_old_grants_were(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION)
    env.uninstall("acme-notes")
    install_notes(env, "mallory-notes", publisher="Mallory")

    shown = " ".join(env.ok("ext", "permissions", "notes").split())

    assert f"symphony ext grant notes {PERMISSION}" in shown
    assert "Its earlier grants were given to the distribution 'acme-notes by Acme'" in shown


def test_ext_invoke_and_workflow_validate_refusals_say_whose_the_old_grants_were(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION)
    env.uninstall("acme-notes")
    install_notes(env, "mallory-notes", publisher="Mallory")
    (env.root / "flow.toml").write_text(WORKFLOW, encoding="utf-8")

    invoked = env.symphony("ext", "invoke", "notes", "notes-echo", "--input", "value=1")
    validated = env.symphony("workflow", "validate", "flow.toml")

    for refusal in (invoked, validated):
        assert refusal.returncode != 0
        said = " ".join((refusal.stdout + refusal.stderr).split())
        assert "Its earlier grants were given to the distribution 'acme-notes by Acme'" in said, said


#: A workflow with one node of the ``notes`` extension.
WORKFLOW = """\
schema_version = 1
id = "notes"
name = "Notes"
version = "1.0.0"

[inputs]
value = { type = "json" }

[nodes.echo]
kind = "operator"
uses = "notes-echo"

[[edges]]
kind = "data"
from = "inputs.value"
to = "echo.value"
"""


def test_the_same_name_from_another_publisher_is_asked_to_be_granted_again(env: Environment) -> None:
    install_notes(env, "notes-ext", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION)
    env.uninstall("notes-ext")
    install_notes(env, "notes-ext", publisher="Mallory")

    report = env.json("ext", "permissions", "notes")

    assert report["missing"] == [PERMISSION]
    assert report["grant_command"] == f"symphony ext grant notes {PERMISSION}"


def test_an_upgrade_of_the_same_distribution_keeps_its_grants(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme", version="1.0.0")
    env.ok("ext", "grant", "notes", PERMISSION)
    install_notes(env, "acme-notes", publisher="Acme", version="2.0.0")

    assert env.json("ext", "permissions", "notes")["effective"] == [PERMISSION]


def test_a_trust_mark_is_not_inherited_by_another_distribution(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", "--trust")
    assert env.json("ext", "permissions", "notes")["trusted"] is not None
    env.uninstall("acme-notes")
    install_notes(env, "mallory-notes", publisher="Mallory")

    assert env.json("ext", "permissions", "notes")["trusted"] is None


def test_statistics_of_an_uninstalled_extension_are_not_inherited_by_another_distribution(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION)
    assert env.symphony("ext", "invoke", "notes", "notes-echo", "--input", "value=1").returncode != 0
    assert [(r["name"], r["failures"]) for r in env.json("ext", "ps")] == [("notes", 1)]
    env.uninstall("acme-notes")
    install_notes(env, "mallory-notes", publisher="Mallory")

    assert env.json("ext", "ps") == []


def test_a_trust_mark_of_an_uninstalled_extension_is_listed_as_stale(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", "--trust")
    assert env.json("ext", "grants")["trusted"] == {"notes": "acme-notes by Acme"}
    env.uninstall("acme-notes")

    assert env.json("ext", "grants")["stale_trust"] == ["notes"]
    assert "stale: not applied" in env.ok("ext", "grants")


def test_grants_of_an_uninstalled_extension_are_listed_as_stale(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION)
    assert env.json("ext", "grants")["stale"] == {}
    env.uninstall("acme-notes")

    listing = env.json("ext", "grants")

    assert listing["stale"] == {"notes": [PERMISSION]}
    assert [g["identity"] for g in listing["grants"]["notes"]] == ["acme-notes by Acme"]
    assert "stale: not applied" in env.ok("ext", "grants")


def test_revoking_all_of_an_uninstalled_names_grants_removes_the_stale_ones(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION)
    env.uninstall("acme-notes")

    assert f"Revoked {PERMISSION} from notes." in env.ok("ext", "revoke", "notes", "--all")
    assert env.json("ext", "grants") == {"grants": {}, "stale": {}, "trusted": {}, "stale_trust": []}


def test_prune_removes_stale_grants_and_trust_marks_and_keeps_current_ones(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION, "--trust")
    env.uninstall("acme-notes")
    install_notes(env, "mallory-notes", publisher="Mallory")
    env.ok("ext", "grant", "notes", "network:other.example.com")

    pruned = env.ok("ext", "grants", "--prune")

    assert f"Removed {PERMISSION} of notes (granted to acme-notes by Acme)." in pruned
    assert "Removed the trust mark of notes." in pruned
    listing = env.json("ext", "grants")
    assert [g["permission"] for g in listing["grants"]["notes"]] == ["network:other.example.com"]
    assert listing["stale"] == {}
    assert (listing["trusted"], listing["stale_trust"]) == ({}, [])


def test_a_denial_after_the_name_changed_hands_says_whose_the_old_grants_were(env: Environment) -> None:
    install_notes(env, "acme-notes", publisher="Acme")
    env.ok("ext", "grant", "notes", PERMISSION)
    env.uninstall("acme-notes")
    install_notes(env, "mallory-notes", publisher="Mallory")

    probe = env.python(DECIDE)

    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("not_granted Denied network:api.example.com:443 to extension 'notes'")
    assert (
        "Its earlier grants were given to the distribution 'acme-notes by Acme', not to 'mallory-notes by Mallory',"
        " which provides it now" in probe.stdout
    )


#: The host's checker deciding one request of ``notes``, as a running host would.
DECIDE = """
from symphony.host import Host
from symphony.host.extensions import find_extension
from symphony.host.permissions import NetworkRequest, open_permissions, provided_records, subject_from_manifest

host = Host().load()
settings = host.settings
def lookup(name):
    return subject_from_manifest(find_extension(settings.cache_dir, name).manifest)
checker = open_permissions(settings, None, lookup, records=provided_records(host)).checker()
decision = checker.check("notes", NetworkRequest(host="api.example.com", port=443))
print(decision.rule, decision.reason)
"""


def test_grants_from_before_identities_are_stale_for_an_installed_distribution(tmp_path: Path) -> None:
    from symphony.host.permissions import GrantStore

    database = tmp_path / "permissions.db"
    with sqlite3.connect(database) as connection:  # the schema of databases made before identities
        connection.execute(
            "CREATE TABLE grants (id INTEGER PRIMARY KEY, extension VARCHAR, permission VARCHAR, granted_at FLOAT,"
            " granted_by VARCHAR, source VARCHAR, budget_calls INTEGER, budget_tokens INTEGER, budget_cost FLOAT,"
            " UNIQUE (extension, permission))"
        )
        connection.execute("INSERT INTO grants VALUES (1, 'notes', ?, 0, 'me', 'api', NULL, NULL, NULL)", (PERMISSION,))

    store = GrantStore(database, identify=lambda name: "acme-notes by Acme")

    assert store.grants("notes") == ()
    assert [g.permission for g in store.stale()["notes"]] == [PERMISSION]
