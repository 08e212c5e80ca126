"""``symphony ui``'s API over real HTTP: login, roles, workflow edits, live runs, grants, artifacts, refusals."""

from __future__ import annotations

import getpass
import json
import signal
import ssl
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from symphony.builtin_plugins.workflow.formats import load
from tests.conftest import SYMPHONY, Symphony, parse_json

from .conftest import DEADLINE, Console, first_line, make_project, start_console

#: Each test starts a real console process (a few seconds on a busy machine).
pytestmark = pytest.mark.slow

API = "/ui/api/v1"


def logged_in(console: Console) -> httpx.Client:
    """A client holding the session cookie the login link gives."""
    client = httpx.Client(base_url=console.base_url, timeout=DEADLINE)
    answer = client.get(console.login_link.removeprefix(console.base_url))
    assert answer.status_code == 303, answer.text
    return client


def with_token(console: Console, token: str) -> httpx.Client:
    return httpx.Client(base_url=console.base_url, timeout=DEADLINE, headers={"Authorization": f"Bearer {token}"})


def token_of(console: Console, role: str) -> str:
    """A data service token for a new user of ``role``, made with `symphony data users add` and `tokens create`."""
    home = console.home
    user = parse_json(
        home.run("data", "users", "add", role, "--email", f"{role}@example.org", "--role", role, "--json")
    )
    made = parse_json(home.run("data", "tokens", "create", "--name", role, "--user", user["id"], "--json"))
    token: str = made["token"]
    return token


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of a refusal, checked to be one."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = answer.json()
    assert document["status"] == status and document["detail"] and "Traceback" not in answer.text
    return document


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) of each Server-Sent Event in ``lines``; comments and ``retry`` skipped."""
    name = "message"
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))
            name = "message"


def test_the_login_link_gives_an_admin_session_once(console: Console) -> None:
    client = httpx.Client(base_url=console.base_url, timeout=DEADLINE)
    login = client.get(console.login_link.removeprefix(console.base_url))
    assert login.status_code == 303 and login.headers["location"] == "/"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    me = client.get(f"{API}/me").json()
    assert me["role"] == "admin" and "grants.revoke" in me["can"]
    again = httpx.get(console.login_link, timeout=DEADLINE, follow_redirects=False)
    assert "already used" in problem(again, 401)["detail"]


def test_the_api_without_a_session_or_token_answers_401(console: Console) -> None:
    answer = httpx.get(f"{console.base_url}{API}/runs", timeout=DEADLINE)
    assert "Not logged in" in problem(answer, 401)["detail"]
    wrong = with_token(console, "sym_not-a-token").get(f"{API}/me")
    assert "unknown, revoked or expired" in problem(wrong, 401)["detail"]


def test_a_bearer_token_acts_with_its_users_role(console: Console) -> None:
    viewer = with_token(console, token_of(console, "viewer"))
    me = viewer.get(f"{API}/me").json()
    assert (me["user"], me["role"], me["can"]) == ("viewer", "viewer", [])
    assert [w["id"] for w in viewer.get(f"{API}/workflows").json()] == ["gated", "welcome"]
    refused = viewer.post(f"{API}/runs", json={"workflow": "gated"})
    assert "may not runs.start" in problem(refused, 403)["detail"]
    assert viewer.get(f"{API}/runs").json() == []


def test_a_viewer_is_refused_a_revoke_and_an_admin_revokes(console: Console) -> None:
    admin = with_token(console, token_of(console, "admin"))
    granted = admin.post(f"{API}/extensions/sample-fetcher/grants", json={"capability": "network:api.example.org:443"})
    assert granted.status_code == 201, granted.text
    path = f"{API}/extensions/sample-fetcher/grants/network:api.example.org:443"
    refused = with_token(console, token_of(console, "viewer")).delete(path)
    assert "may not grants.revoke" in problem(refused, 403)["detail"]
    assert admin.get(f"{API}/extensions/sample-fetcher").json()["granted"][0]["permission"] == (
        "network:api.example.org:443"
    )
    revoked = admin.delete(path)
    assert revoked.json() == {"extension": "sample-fetcher", "revoked": ["network:api.example.org:443"]}
    assert admin.get(f"{API}/extensions").json() == []


DEMO_MANIFEST = """\
schema_version = 1

[extension]
name = "demo-fetch"
version = "0.3.0"
type = "operator"
author = "Tests"
description = "Declares what it would fetch."

[capabilities]
network_access = ["api.example.org:443"]

[runtime]
kind = "python"
entry = "demo_ext.main:run"
"""


def extension_site(site: Path) -> Path:
    """A site holding an installed extension distribution (entry point, manifest, file list), nothing to import."""
    (site / "demo_ext").mkdir(parents=True)
    (site / "demo_ext" / "__init__.py").write_text("")
    (site / "demo_ext" / "symphony-extension.toml").write_text(DEMO_MANIFEST)
    info = site / "demo_ext-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-ext\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[symphony.extensions]\ndemo-fetch = demo_ext\n")
    (info / "RECORD").write_text("demo_ext/__init__.py,,\ndemo_ext/symphony-extension.toml,,\n")
    return site


def test_an_installed_extension_is_listed_with_its_declared_and_granted_capabilities(
    tmp_path: Path, ops_site: Path
) -> None:
    home = Symphony(sites=(ops_site, extension_site(tmp_path / "site")), home=tmp_path / "home")
    running = start_console(home, make_project(tmp_path / "project"))
    try:
        client = logged_in(running)
        client.post(f"{API}/extensions/demo-fetch/grants", json={"capability": "network:api.example.org:443"})
        (listed,) = client.get(f"{API}/extensions").json()
        assert (listed["name"], listed["version"], listed["distribution"]) == ("demo-fetch", "0.3.0", "demo-ext")
        assert listed["declared"] == listed["granted"] == ["network:api.example.org:443"]
        shown = client.get(f"{API}/extensions/demo-fetch").json()
        assert shown["manifest"]["runtime"]["entry"] == "demo_ext.main:run"
        assert shown["granted"][0]["granted_by"] == getpass.getuser()
    finally:
        code, stderr = running.stop()
    assert code == 0, stderr


def test_the_projects_workflows_are_listed_and_shown_with_their_typed_ports(console: Console) -> None:
    client = logged_in(console)
    listed = {w["id"]: (w["path"], w["nodes"], w["problems"]) for w in client.get(f"{API}/workflows").json()}
    assert listed == {"gated": ("gated.toml", 3, 0), "welcome": ("welcome.toml", 5, 0)}
    shown = client.get(f"{API}/workflows/welcome").json()
    parse = next(node for node in shown["graph"]["nodes"] if node["id"] == "parse")
    assert (parse["contribution"], parse["inputs"], parse["outputs"]) == (
        "json-parse",
        {"text": "string"},
        {"value": "json"},
    )
    paying = next(edge for edge in shown["graph"]["edges"] if edge["id"] == "paying")
    assert (paying["kind"], paying["source"], paying["target"], paying["when"]) == (
        "conditional",
        "active",
        "upsell",
        'out.plan != "free"',
    )
    (console.project / "gated.toml").write_text(
        (console.project / "gated.toml").read_text().replace('"gated"', '"relay"')
    )
    assert sorted(w["id"] for w in client.get(f"{API}/workflows").json()) == ["relay", "welcome"]


def test_an_edit_making_a_cycle_answers_the_cycle_and_rewrites_the_file_keeping_its_mode(console: Console) -> None:
    file = console.project / "welcome.toml"
    file.chmod(0o640)
    edit = {"op": "connect", "edge": {"kind": "control", "from": "join", "to": "parse"}}
    answer = logged_in(console).post(f"{API}/workflows/welcome/edits", json=edit)
    assert answer.status_code == 200, answer.text
    (cycle,) = [p for p in answer.json()["problems"] if p["code"] == "cycle"]
    assert "control:join->parse" in cycle["edges"] and "parse" in cycle["nodes"]
    assert any(e.source == "join" and e.target == "parse" for e in load(file).edges)
    assert stat.S_IMODE(file.stat().st_mode) == 0o640
    assert sorted(p.name for p in console.project.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_an_edit_that_cannot_apply_changes_nothing(console: Console) -> None:
    file = console.project / "welcome.toml"
    before = file.read_bytes()
    answer = logged_in(console).post(f"{API}/workflows/welcome/edits", json={"op": "remove_node", "id": "nobody"})
    assert "nothing was changed" in problem(answer, 409)["detail"]
    assert file.read_bytes() == before


def test_a_run_started_in_the_console_streams_its_node_events_until_it_finishes(console: Console) -> None:
    client = logged_in(console)
    run_id = client.post(f"{API}/runs", json={"workflow": "gated"}).json()["run_id"]
    seen: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + DEADLINE
    with client.stream("GET", f"{API}/runs/{run_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for name, data in sse(stream.iter_lines()):
            assert time.monotonic() < deadline, f"the run did not finish; events so far: {seen}"
            seen.append((name, data))
            if name == "node" and data["node"] == "first" and data["state"] == "running":
                console.release()
    states = [(data["node"], data["state"]) for name, data in seen if name == "node"]
    assert states.index(("first", "running")) < states.index(("first", "succeeded"))
    assert states.index(("second", "succeeded")) < states.index(("third", "succeeded"))
    assert seen[-1] == ("run", {**seen[-1][1], "run_id": run_id, "status": "succeeded"})
    shown = client.get(f"{API}/runs/{run_id}").json()
    assert [node["state"] for node in shown["nodes"]] == ["succeeded"] * 3
    assert shown["run"]["nodes_done"] == 3


def test_a_running_run_is_cancelled_from_the_console(console: Console) -> None:
    client = logged_in(console)
    run_id = client.post(f"{API}/runs", json={"workflow": "gated"}).json()["run_id"]
    wait_for(lambda: client.get(f"{API}/runs/{run_id}").json()["run"]["status"] == "running", "the run to start")
    answer = client.post(f"{API}/runs/{run_id}/cancel")
    assert answer.status_code == 202, answer.text
    wait_for(lambda: client.get(f"{API}/runs/{run_id}").json()["run"]["status"] == "cancelled", "the cancellation")
    listed = client.get(f"{API}/runs", params={"workflow": "gated", "status": "cancelled"}).json()
    assert [run["run_id"] for run in listed] == [run_id]
    assert "only a running run" in problem(client.post(f"{API}/runs/{run_id}/cancel"), 409)["detail"]


def node_states(client: httpx.Client, run_id: str) -> dict[str, str]:
    return {node["id"]: node["state"] for node in client.get(f"{API}/runs/{run_id}").json()["nodes"]}


def finished(client: httpx.Client, run_id: str) -> dict[str, Any]:
    """The run once it has ended."""
    ended: dict[str, Any] = wait_for(
        lambda: (run := client.get(f"{API}/runs/{run_id}").json())["run"]["status"] != "running" and run,
        f"run {run_id} to end",
    )
    return ended


def test_a_live_runs_nodes_show_their_state_and_a_finished_runs_nodes_their_logs(console: Console) -> None:
    client = logged_in(console)
    run_id = client.post(f"{API}/runs", json={"workflow": "gated"}).json()["run_id"]
    wait_for(lambda: node_states(client, run_id)["first"] == "running", "the first node to run")
    assert node_states(client, run_id)["third"] == "pending"
    console.release()
    first = finished(client, run_id)["nodes"][0]
    assert first["state"] == "succeeded" and first["attempts"] == 1
    assert any(" node.succeeded first " in line for line in first["logs"])


def test_a_finished_run_is_retried_from_a_node_as_a_new_run(console: Console) -> None:
    console.release()
    client = logged_in(console)
    run_id = client.post(f"{API}/runs", json={"workflow": "gated"}).json()["run_id"]
    assert finished(client, run_id)["run"]["status"] == "succeeded"
    answer = client.post(f"{API}/runs/{run_id}/retry", json={"node": "second"})
    assert answer.status_code == 202, answer.text
    retried = finished(client, answer.json()["run_id"])
    assert (retried["run"]["status"], retried["run"]["parent_id"]) == ("succeeded", run_id)
    unknown = client.post(f"{API}/runs/{run_id}/retry", json={"node": "fourth"})
    assert "no node 'fourth'" in problem(unknown, 404)["detail"]


def test_a_cancelled_run_resumes_to_its_end(console: Console) -> None:
    client = logged_in(console)
    run_id = client.post(f"{API}/runs", json={"workflow": "gated"}).json()["run_id"]
    wait_for(lambda: node_states(client, run_id)["first"] == "running", "the first node to run")
    client.post(f"{API}/runs/{run_id}/cancel")
    assert finished(client, run_id)["run"]["status"] == "cancelled"
    console.release()
    answer = client.post(f"{API}/runs/{run_id}/resume")
    assert answer.status_code == 202 and answer.json() == {"run_id": run_id}, answer.text
    wait_for(lambda: client.get(f"{API}/runs/{run_id}").json()["run"]["status"] == "succeeded", "the resumed run")
    assert "succeeded; there is nothing to resume" in problem(client.post(f"{API}/runs/{run_id}/resume"), 409)["detail"]


def test_stopping_the_console_ends_open_event_streams_cleanly(console: Console) -> None:
    client = logged_in(console)
    run_id = client.post(f"{API}/runs", json={"workflow": "gated"}).json()["run_id"]
    with client.stream("GET", f"{API}/runs/{run_id}/events") as stream:
        lines = stream.iter_lines()
        events = sse(lines)
        assert next(events)[1]["run_id"] == run_id  # the stream is open and the run is live
        console.process.send_signal(signal.SIGTERM)
        list(lines)  # ends as a complete response: a connection cut mid-stream would raise here
    code, stderr = console.stop()
    assert code == 0 and "Traceback" not in stderr, stderr


def test_an_artifact_is_found_by_search_and_shown_with_its_versions(console: Console) -> None:
    census = console.project / "census.txt"
    for text in ("the quarterly zebra census", "the quarterly zebra census, corrected"):
        census.write_text(text)
        assert console.home.run("artifacts", "put", str(census), "--name", "zebra-census").returncode == 0
    client = logged_in(console)
    found = client.get(f"{API}/artifacts", params={"q": "corrected"}).json()
    assert [(a["name"], a["size"]) for a in found] == [("zebra-census", len("the quarterly zebra census, corrected"))]
    shown = client.get(f"{API}/artifacts/{found[0]['id']}").json()
    assert shown["artifact"]["id"] == found[0]["id"]
    assert [(v["name"], v["version"]) for v in shown["versions"]] == [("zebra-census", 1), ("zebra-census", 2)]
    assert shown["versions"][1]["id"] == found[0]["id"]
    assert shown["lineage"] == {"nodes": [{"id": found[0]["id"], "kind": "artifact"}], "edges": []}
    missing = client.get(f"{API}/artifacts/sha256:{'0' * 64}")
    problem(missing, 404)


#: Bad requests: (method, path, body), the status and words of the problem answering each.
BAD_REQUESTS = [
    (("POST", "/runs", b"{not json"), 422, "not JSON"),
    (("POST", "/runs", b'{"workflow": "nowhere"}'), 404, "No workflow 'nowhere'"),
    (("POST", "/runs", b'{"workflow": "welcome"}'), 422, "Missing required input(s) user"),
    (("POST", "/runs", b'{"workflow": "welcome", "inputs": []}'), 422, "inputs must be a JSON object"),
    (("POST", "/workflows/welcome/edits", b'{"op": "explode"}'), 422, "Not an edit"),
    (("GET", "/runs?limit=lots", b""), 422, "whole number"),
    (("GET", "/runs/ffffffffffff", b""), 404, "No run"),
    (("DELETE", "/runs", b""), 405, "does not take DELETE"),
    (("POST", "/extensions/x/grants", b'{"capability": "teleport"}'), 422, "network:api.example.com:443"),
]


def test_bad_input_is_a_problem_document_without_a_traceback(console: Console) -> None:
    client = logged_in(console)
    for (method, path, body), status, says in BAD_REQUESTS:
        answer = client.request(method, f"{API}{path}", content=body)
        assert says in problem(answer, status)["detail"], (method, path)
    code, stderr = console.stop()
    assert code == 0 and "Traceback" not in stderr, stderr


def test_with_a_remote_data_service_its_tokens_and_roles_apply(tmp_path: Path, ops_site: Path) -> None:
    home = Symphony(sites=(ops_site,), home=tmp_path / "home")
    database = f"sqlite:///{tmp_path / 'remote.db'}"
    console_token = parse_json(home.run("data", "tokens", "create", "--name", "ui", "--database", database, "--json"))
    user = parse_json(
        home.run(
            "data",
            "users",
            "add",
            "vera",
            "--email",
            "v@example.org",
            "--role",
            "viewer",
            "--database",
            database,
            "--json",
        )
    )
    made = home.run("data", "tokens", "create", "--name", "v", "--user", user["id"], "--database", database, "--json")
    service = subprocess.Popen(
        [str(SYMPHONY), "data", "serve", "--database", database],
        cwd=home.home,
        env=home.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = first_line(service).removeprefix("listening on ")
        (tmp_path / "token").write_text(console_token["token"])
        (home.home / "symphony.toml").write_text(
            f'[components.data.options]\nurl = "{url}"\ntoken_file = "{tmp_path / "token"}"\n'
        )
        running = start_console(home, make_project(tmp_path / "project"))
        try:
            viewer = with_token(running, parse_json(made)["token"])
            assert viewer.get(f"{API}/me").json() == {"user": "vera", "role": "viewer", "can": []}
            assert (
                "unknown, revoked or expired"
                in problem(with_token(running, "sym_nope").get(f"{API}/me"), 401)["detail"]
            )
        finally:
            code, stderr = running.stop()
        assert code == 0, stderr
    finally:
        service.terminate()
        service.wait(DEADLINE)
        for stream in (service.stdout, service.stderr):
            if stream is not None:
                stream.close()


def test_with_tls_the_console_serves_https_and_its_session_cookie_is_secure(tmp_path: Path, ops_site: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    certificate.private_key_pem.write_to_path(str(key))
    certificate.cert_chain_pems[0].write_to_path(str(chain))
    home = Symphony(sites=(ops_site,), home=tmp_path / "home")
    running = start_console(home, make_project(tmp_path / "project"), "--tls-cert", str(chain), "--tls-key", str(key))
    try:
        assert running.login_link.startswith("https://127.0.0.1:")
        with authority.cert_pem.tempfile() as ca:
            client = httpx.Client(base_url=running.base_url, verify=ssl.create_default_context(cafile=ca))
            login = client.get(running.login_link.removeprefix(running.base_url))
            assert "secure" in login.headers["set-cookie"].lower()
            assert client.get(f"{API}/me").json()["role"] == "admin"
    finally:
        code, stderr = running.stop()
    assert code == 0, stderr


def test_a_non_loopback_host_without_tls_is_refused(symphony: Callable[..., Symphony], tmp_path: Path) -> None:
    result = symphony().run("ui", "--no-open", "--host", "0.0.0.0", "--project", str(tmp_path))
    assert result.returncode == 1
    assert "Refusing to serve on 0.0.0.0 without TLS" in result.stderr and "Traceback" not in result.stderr
