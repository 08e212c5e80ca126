"""``symphony ui`` over third-party providers that lack the ports' optional capabilities.

The ``own-artifact-store`` and ``own-dag-tracker`` test distributions (really installed) serve
``artifact_store`` (their distro profile ``own-artifacts``) and ``dag_tracker`` (``ports.dag_tracker``);
neither has ``ArtifactHistory``, ``RunRetry`` or ``RunLogs``.  The console still serves everything
else through the ports and answers 501, naming the missing method and the plugin, for just those
features.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import Symphony
from tests.replacing import USER, WELCOME

from .conftest import Console, killed, make_project, start_console
from .test_ui_api import API, logged_in, problem

if TYPE_CHECKING:
    from tests.conftest import Installer

#: Each test talks to a real console process over third-party providers (one per module).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replaced(installer: Installer, tmp_path_factory: pytest.TempPathFactory, ops_site: Path) -> Iterator[Console]:
    """A console whose artifact store and DAG tracker are the test distributions', not the builtins."""
    root = tmp_path_factory.mktemp("replaced")
    site = installer.install(root / "site", "own-artifact-store", "own-dag-tracker")
    home = Symphony(sites=(ops_site, site), home=root / "home", extra_env={"SYMPHONY_DISTRO": "own-artifacts"})
    running = start_console(
        home, make_project(root / "project"), options=("--set", "ports.dag_tracker=own-dag-tracker")
    )
    try:
        yield running
    finally:
        killed(running.process)


@pytest.fixture(scope="module")
def client(replaced: Console) -> Iterator[httpx.Client]:
    """Logged in once: the login link works one time."""
    session = logged_in(replaced)
    try:
        yield session
    finally:
        session.close()


def stored_artifact(console: Console) -> str:
    """An artifact in the replacement store: a node output of `symphony run` on the builtin tracker."""
    home = console.home
    builtin = ("--set", "ports.dag_tracker=dag", "--set", "components.dag.options.inline_limit=0")
    ran = home.run(*builtin, "run", str(WELCOME), "--input", f"user={USER}")
    assert ran.returncode == 0, ran.stderr
    log = (home.data_dir / "own-artifact-store.log").read_text().splitlines()
    stored: str = next(call["artifact"] for call in map(json.loads, log) if call["method"] == "store")
    return stored


def test_an_artifact_of_a_store_without_history_is_shown_with_versions_and_lineage_unavailable(
    replaced: Console, client: httpx.Client
) -> None:
    artifact_id = stored_artifact(replaced)

    shown = client.get(f"{API}/artifacts/{artifact_id}")

    assert shown.status_code == 200, shown.text
    document = shown.json()
    assert document["artifact"]["id"] == artifact_id
    assert (document["versions"], document["lineage"]) == (None, None)
    assert document["unavailable"]["status"] == 501
    detail = document["unavailable"]["detail"]
    assert "artifact_store.lineage()" in detail and "lineage(), versions()" in detail
    assert "'own-artifact-store'" in detail


def test_retrying_from_a_node_on_a_tracker_without_it_answers_501_naming_the_method(client: httpx.Client) -> None:
    started = client.post(f"{API}/runs", json={"workflow": "welcome", "inputs": {"user": json.loads(USER)}})
    assert started.status_code == 202, started.text

    answer = client.post(f"{API}/runs/{started.json()['run_id']}/retry", json={"node": "greet"})

    detail = problem(answer, 501)["detail"]
    assert "dag_tracker.retry_from()" in detail and "'own-dag-tracker'" in detail


def test_the_rest_of_the_console_is_served_through_the_replacements(replaced: Console, client: httpx.Client) -> None:

    assert sorted(w["id"] for w in client.get(f"{API}/workflows").json()) == ["gated", "welcome"]
    assert client.get(f"{API}/artifacts", params={"q": "anything"}).json() == []  # the replacement finds nothing
    searched = (replaced.home.data_dir / "own-artifact-store.log").read_text()
    assert '"query": "anything"' in searched
    assert client.get(f"{API}/runs").status_code == 200
