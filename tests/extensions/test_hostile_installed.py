"""The hostile extensions, pip-installed, through ``symphony ext invoke`` and the real ExtensionPort.

``tests/distributions/ext-hostile`` holds two: ``ext-hostile`` runs in the
confined subprocess runtime, ``ext-hostile-wasm`` (a Python component built at
wheel-build time) in Wasmtime; each manifest declares only ``write:data`` and a
2 s timeout.  (The in-process runtime runs only extensions the user trusts, so
it has no hostile suite: trust is the decision to run code unconfined.)
Each test makes one attempt of the issue's list and checks it is denied (the
operation reports the error it got) or stopped with one clear error line.  The
CLI runs with a fake ``~/.ssh`` key in its ``HOME``, a secret in its own
environment and a secret configured for another extension (the fetcher).
The last tests run every attempt in one host process and check the host keeps
serving the other extensions, then drive a crash loop into ``ext ps`` and ``doctor``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .e2e import LoopbackServer, Step, loopback_server, serve, share_compiled_wasm

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

pytestmark = pytest.mark.slow

HOST_SECRET = "host-secret-9d2e71"
FETCHER_SECRET = "fetcher-secret-4b8c03"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with loopback_server() as running:
        yield running


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The CLI user's home, with a private key where an attacker would look."""
    key = tmp_path / "user" / ".ssh" / "id_ed25519"
    key.parent.mkdir(parents=True)
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n", encoding="utf-8")
    key.chmod(0o600)
    return tmp_path / "user"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wasmtime's compiled-code cache, shared by the tests: compiling the component takes seconds."""
    return tmp_path_factory.mktemp("compiled-wasm")


@pytest.fixture
def ext(
    installer: Installer, symphony: Callable[..., Symphony], server: LoopbackServer, home: Path, compiled: Path
) -> Symphony:
    runner = symphony(
        installer.site("end-to-end"),
        HOME=str(home),
        HOST_API_KEY=HOST_SECRET,
        SYMPHONY_SECRET__SAMPLE_FETCHER__TOKEN=FETCHER_SECRET,
        SYMPHONY_EXTENSIONS__CONFIG__SAMPLE_FETCHER__ENDPOINT=server.url(),
    )
    # Granted what they declare, as 'ext invoke' requires before starting them: each attack
    # then starts from the position a user who installed and granted the extension gives it.
    for name, declared in (
        ("ext-hostile", ["file:write:data"]),
        ("ext-hostile-wasm", ["file:read:data", "file:write:data"]),
    ):
        granted = runner.run("ext", "grant", name, *declared)
        assert granted.returncode == 0, granted.stderr
    return share_compiled_wasm(runner, compiled)


def attempt(ext: Symphony, operation: str, **values: Any) -> dict[str, Any]:
    """What the hostile operation reported: ``{"outcome": "denied" | "allowed", ...}``."""
    inputs = [arg for key, value in values.items() for arg in ("--input", f"{key}={value}")]
    result: dict[str, Any] = ext.json("ext", "invoke", "ext-hostile", operation, *inputs)["result"]
    return result


def denied(outcome: dict[str, Any], error: str = "PermissionError") -> None:
    assert outcome["outcome"] == "denied", outcome
    assert str(outcome["error"]).startswith(error), outcome


def stopped(ext: Symphony, operation: str, **values: Any) -> str:
    """The one error line of an attempt the host had to stop."""
    inputs = [arg for key, value in values.items() for arg in ("--input", f"{key}={value}")]
    result = ext.run("ext", "invoke", "ext-hostile", operation, *inputs)
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: "), line
    return line


def test_reading_an_ssh_key_in_the_users_home_is_denied(ext: Symphony, home: Path) -> None:
    denied(attempt(ext, "read", path=home / ".ssh" / "id_ed25519"))
    denied(attempt(ext, "list_dir", path=home / ".ssh"))


def test_reading_etc_shadow_is_denied(ext: Symphony) -> None:
    assert Path("/etc/shadow").exists()
    denied(attempt(ext, "read", path="/etc/shadow"))


def test_writing_outside_its_granted_scope_is_denied(ext: Symphony, home: Path) -> None:
    ext.run("ext", "grant", "ext-hostile", "file:write:data")
    denied(attempt(ext, "write", path=home / "pwned.txt"))
    assert not (home / "pwned.txt").exists()


def test_writing_inside_its_granted_scope_is_allowed(ext: Symphony) -> None:
    ext.run("ext", "grant", "ext-hostile", "file:write:data")
    target = ext.data_dir / "extensions" / "ext-hostile" / "result.txt"
    assert attempt(ext, "write", path=target, text="fine")["outcome"] == "allowed"
    assert target.read_text(encoding="utf-8") == "fine"


def test_reading_inside_its_write_only_scope_is_denied(ext: Symphony) -> None:
    ext.run("ext", "grant", "ext-hostile", "file:write:data")
    target = ext.data_dir / "extensions" / "ext-hostile" / "result.txt"
    assert attempt(ext, "write", path=target, text="secret")["outcome"] == "allowed"
    denied(attempt(ext, "read", path=target))


def test_a_socket_to_a_listening_loopback_port_is_denied(ext: Symphony) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        denied(attempt(ext, "connect", host="127.0.0.1", port=listening.getsockname()[1]))


def test_a_mediated_request_to_an_undeclared_host_is_denied_and_audited(ext: Symphony, server: LoopbackServer) -> None:
    outcome = attempt(ext, "http", url=server.url("/steal"))
    denied(outcome, "PermissionDeniedError")
    assert "its manifest does not declare it" in outcome["error"]
    assert server.hits == []
    (entry,) = ext.json("audit", "--extension", "ext-hostile")
    assert (entry["permission"], entry["decision"], entry["rule"]) == (
        f"network:127.0.0.1:{server.port}",
        "denied",
        "not_declared",
    )


def test_the_hosts_environment_is_not_visible(ext: Symphony) -> None:
    environ = attempt(ext, "environ")["value"]
    assert set(environ) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TZ"}
    assert HOST_SECRET not in repr(environ)


def test_another_extensions_secret_is_out_of_reach(ext: Symphony) -> None:
    assert attempt(ext, "config") == {"outcome": "allowed", "value": {}}
    environ = attempt(ext, "environ")["value"]
    assert FETCHER_SECRET not in repr(environ)


def test_a_fork_bomb_is_denied(ext: Symphony) -> None:
    denied(attempt(ext, "fork_bomb"))


def test_allocating_past_the_memory_limit_is_one_clear_error(ext: Symphony) -> None:
    line = stopped(ext, "allocate", mib=4096)
    assert "ran out of memory in operation 'allocate' (memory limit 256 MiB)" in line


def test_spinning_forever_is_stopped_at_the_manifests_timeout(ext: Symphony) -> None:
    line = stopped(ext, "spin")
    assert "did not finish 'spin' within 2.0 s (wall-clock limit)" in line


def test_a_stopped_extension_is_in_the_audit_log(ext: Symphony) -> None:
    stopped(ext, "spin")
    entries = ext.json("audit", "--extension", "ext-hostile", "--decision", "denied")
    (entry,) = [e for e in entries if e["rule"] == "stopped"]
    assert entry["permission"] == "system:limits" and entry["target"] == "spin"
    assert "was stopped in 'spin'" in entry["reason"] and "wall-clock limit" in entry["reason"]


def test_garbage_on_the_protocol_stream_is_one_clear_error(ext: Symphony) -> None:
    line = stopped(ext, "garbage")
    assert "wrote something that is not the worker protocol" in line


# --- the same attempts from a wasm component -----------------------------------------------


def wasm_attempt(ext: Symphony, operation: str, **values: Any) -> dict[str, Any]:
    """What the hostile guest reported: ``{"ok": ...}`` or ``{"error": type, "message": ...}``."""
    inputs = [arg for key, value in values.items() for arg in ("--input", f"{key}={value}")]
    result: dict[str, Any] = ext.json("ext", "invoke", "ext-hostile-wasm", operation, *inputs)["result"]
    return result


def wasm_stopped(ext: Symphony, operation: str) -> str:
    """The first line of the error of an attempt Wasmtime stopped; the guest's own output may follow it."""
    result = ext.run("ext", "invoke", "ext-hostile-wasm", operation)
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    host_part = result.stderr.split("Guest output (tail):")[0]
    assert "Traceback" not in host_part, result.stderr
    line = result.stderr.splitlines()[0]
    assert line.startswith("Error: Wasm extension 'ext-hostile-wasm' "), line
    assert "the instance was discarded and the next call starts a fresh one" in line
    return line


def test_wasm_reading_an_ssh_key_in_the_users_home_finds_nothing(ext: Symphony, home: Path) -> None:
    outcome = wasm_attempt(ext, "read", path=home / ".ssh" / "id_ed25519")
    assert outcome["error"] == "FileNotFoundError", outcome


def test_wasm_reading_etc_shadow_finds_nothing(ext: Symphony) -> None:
    assert wasm_attempt(ext, "read", path="/etc/shadow")["error"] == "FileNotFoundError"


def test_wasm_writing_outside_its_granted_scope_is_impossible(ext: Symphony, home: Path) -> None:
    ext.run("ext", "grant", "ext-hostile-wasm", "file:read:data", "file:write:data")
    assert wasm_attempt(ext, "write", path=home / "pwned.txt", text="x")["error"] == "FileNotFoundError"
    assert not (home / "pwned.txt").exists()


def test_wasm_writing_inside_its_granted_data_directory_works(ext: Symphony) -> None:
    ext.run("ext", "grant", "ext-hostile-wasm", "file:read:data", "file:write:data")
    assert wasm_attempt(ext, "write", path="/data/result.txt", text="fine") == {"ok": 4}
    assert (ext.data_dir / "extensions" / "ext-hostile-wasm" / "result.txt").read_text(encoding="utf-8") == "fine"


def test_wasm_has_no_sockets(ext: Symphony) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        outcome = wasm_attempt(ext, "socket", port=listening.getsockname()[1])
    assert "error" in outcome, outcome


def test_wasm_mediated_request_to_an_undeclared_host_is_denied_and_audited(
    ext: Symphony, server: LoopbackServer
) -> None:
    outcome = wasm_attempt(ext, "http", url=server.url("/steal"))
    assert outcome["error"] == "HostError_Denied", outcome
    assert "its manifest does not declare it" in outcome["message"]
    assert server.hits == []
    (entry,) = ext.json("audit", "--extension", "ext-hostile-wasm")
    assert (entry["decision"], entry["rule"]) == ("denied", "not_declared")


def test_wasm_sees_no_environment_and_no_secrets(ext: Symphony) -> None:
    assert wasm_attempt(ext, "env") == {}


def test_wasm_cannot_create_processes(ext: Symphony) -> None:
    assert wasm_attempt(ext, "spawn")["error"] == "AttributeError"


def test_wasm_allocating_past_the_memory_limit_is_one_clear_error(ext: Symphony) -> None:
    assert "hit its memory limit of 128 MiB in operation 'allocate'" in wasm_stopped(ext, "allocate")


def test_wasm_spinning_forever_is_stopped(ext: Symphony) -> None:
    line = wasm_stopped(ext, "spin")
    assert "ran out of fuel" in line or "exceeded its wall-clock timeout of 2 s" in line, line


def test_wasm_an_unhandled_exception_is_one_clear_error(ext: Symphony) -> None:
    assert "raised an exception it did not handle in operation 'crash'" in wasm_stopped(ext, "crash")


# --- one host, every attempt, other extensions still served ---------------------------------


def test_the_host_keeps_serving_other_extensions_after_every_attempt(
    ext: Symphony, server: LoopbackServer, home: Path
) -> None:
    ext.run("ext", "grant", "sample-operator", "--trust")
    ext.run("ext", "grant", "sample-fetcher", "network:127.0.0.1")
    hostile: list[tuple[str, dict[str, Any]]] = [
        ("read", {"path": str(home / ".ssh" / "id_ed25519")}),
        ("read", {"path": "/etc/shadow"}),
        ("write", {"path": str(home / "pwned.txt")}),
        ("http", {"url": server.url("/steal")}),
        ("fork_bomb", {}),
        ("allocate", {"mib": 4096}),
        ("spin", {}),
        ("garbage", {}),
    ]
    bystanders: list[Step] = [
        ("sample-operator", "text-stats", {"text": "still here"}),
        ("sample-fetcher", "ask", {"text": "still here"}),
        ("sample-wasm-core", "stats", {"text": "x"}),
    ]
    wasm_hostile: list[tuple[str, dict[str, Any]]] = [
        ("read", {"path": "/etc/shadow"}),
        ("http", {"url": server.url("/steal")}),
        ("allocate", {}),
        ("spin", {}),
        ("crash", {}),
    ]
    attempts = [("ext-hostile", *step) for step in hostile] + [("ext-hostile-wasm", *step) for step in wasm_hostile]
    plan = [step for attempt in attempts for step in (attempt, *bystanders)]
    served = serve(ext, plan)
    for index, attempt in enumerate(attempts):
        outcome, *others = served.results[index * 4 : index * 4 + 4]
        answer = outcome.get("result", {})
        assert answer.get("outcome") != "allowed" and "ok" not in answer, (attempt, outcome)
        assert all("result" in other for other in others), (attempt, others)
    assert [hit.body for hit in server.hits] == ["still here"] * len(attempts)
    assert served.health == ("ok", "5 extension(s) loaded")


def test_a_crash_loop_disables_it_in_ext_ps_and_doctor_until_enabled(ext: Symphony) -> None:
    ext.run("ext", "grant", "sample-operator", "--trust")
    plan: list[Step] = [("ext-hostile", "crash", {})] * 6 + [("sample-operator", "text-stats", {"text": "fine"})]
    served = serve(ext, plan)
    assert [r.get("error") for r in served.results] == ["WorkerCrashedError"] * 5 + ["ExtensionDisabledError", None]
    assert "'symphony ext enable ext-hostile'" in served.results[5]["message"]
    assert served.health == ("failed", "disabled after repeated failures: ext-hostile")
    (row,) = [r for r in ext.json("ext", "ps") if r["name"] == "ext-hostile"]
    assert (row["failures"], bool(row["disabled"])) == (5, True)
    doctor = ext.json("doctor", returncodes=(1,))["components"]["extension_runtime"]
    assert (doctor["status"], doctor["message"]) == ("failed", "disabled after repeated failures: ext-hostile")
    assert doctor["problems"][0]["fix"] == "symphony ext enable ext-hostile"
    ext.run("ext", "enable", "ext-hostile")
    assert ext.json("doctor", returncodes=(0, 1))["components"]["extension_runtime"]["status"] == "ok"


def test_a_crash_loop_spread_over_several_cli_processes_disables_it_too(ext: Symphony) -> None:
    crashes = [stopped(ext, "crash") for _ in range(5)]
    assert all("was killed by SIGABRT" in line for line in crashes), crashes
    refused = stopped(ext, "crash")
    assert "is disabled after 5 failures in a row" in refused
    assert "'symphony ext enable ext-hostile'" in refused
    assert stopped(ext, "crash") == refused, "a refused call must not lift the disable"
    (row,) = [r for r in ext.json("ext", "ps") if r["name"] == "ext-hostile"]
    assert (row["failures"], row["disabled"]) == (5, refused.removeprefix("Error: "))
    ext.run("ext", "enable", "ext-hostile")
    assert attempt(ext, "fork")["outcome"] == "denied"
