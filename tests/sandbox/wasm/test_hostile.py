"""A hostile component tries to escape; each attempt is denied or stopped, and the next call works."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from symphony.hookspecs import NetworkAccess
from symphony.sandbox.wasm import Preopen, WasmExtension, WasmLimits, WasmRuntime, WasmTrapError

from .conftest import AllowList, Services

pytestmark = pytest.mark.slow  # the first session builds the component (about 12 s)

Load = Callable[..., WasmExtension]


@pytest.fixture
def load(runtime: WasmRuntime, hostile_component: Path, tmp_path: Path) -> Load:
    def load(**options: object) -> WasmExtension:
        options.setdefault("permissions", AllowList())
        return runtime.load(hostile_component, name="hostile", **options)  # type: ignore[arg-type]

    return load


@pytest.fixture
def granted(tmp_path: Path) -> Path:
    directory = tmp_path / "granted"
    directory.mkdir()
    (directory / "mine.txt").write_text("mine")
    return directory


def assert_recovers(ext: WasmExtension) -> None:
    before = ext.stats.instantiations
    assert ext.invoke("echo", {"still": "alive"}) == {"still": "alive"}
    assert ext.stats.instantiations == before + 1, "a trapped instance must be replaced by a fresh one"


# -- filesystem -------------------------------------------------------------------------


def test_reading_inside_the_granted_directory_is_allowed(load: Load, granted: Path) -> None:
    ext = load(preopens=[Preopen.read_only(granted, "/granted")])
    assert ext.invoke("read", {"path": "/granted/mine.txt"}) == {"ok": "mine"}


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "/etc/shadow", str(Path.home() / ".ssh" / "id_rsa"), "/proc/self/environ"]
)
def test_reading_outside_the_granted_directory_is_impossible(load: Load, granted: Path, path: str) -> None:
    ext = load(preopens=[Preopen.read_only(granted, "/granted")])
    result = ext.invoke("read", {"path": path})
    assert result["error"] == "FileNotFoundError", result


def test_dot_dot_cannot_climb_out_of_a_preopen(load: Load, granted: Path) -> None:
    (granted.parent / "secret.txt").write_text("secret")
    ext = load(preopens=[Preopen.read_only(granted, "/granted")])
    result = ext.invoke("read", {"path": "/granted/../secret.txt"})
    assert "error" in result, result


def test_the_guest_sees_only_its_preopens_at_the_root(load: Load, granted: Path) -> None:
    ext = load(preopens=[Preopen.read_only(granted, "/granted")])
    assert ext.invoke("listdir", {"path": "/granted"}) == {"ok": ["mine.txt"]}
    assert "error" in ext.invoke("listdir", {"path": "/etc"})


def test_writing_where_only_read_was_granted_is_denied(load: Load, granted: Path) -> None:
    ext = load(preopens=[Preopen.read_only(granted, "/granted")])
    result = ext.invoke("write", {"path": "/granted/mine.txt", "text": "overwritten"})
    assert result["error"] == "PermissionError", result
    assert (granted / "mine.txt").read_text() == "mine"
    assert "error" in ext.invoke("write", {"path": "/granted/new.txt", "text": "x"})
    assert not (granted / "new.txt").exists()


def test_writing_where_write_was_granted_is_allowed(load: Load, granted: Path) -> None:
    ext = load(preopens=[Preopen.read_write(granted, "/granted")])
    assert ext.invoke("write", {"path": "/granted/new.txt", "text": "written"}) == {"ok": 7}
    assert (granted / "new.txt").read_text() == "written"


@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_a_symlink_inside_the_grant_does_not_lead_outside(load: Load, granted: Path, target: str) -> None:
    secret = granted.parent / "secret.txt"
    secret.write_text("secret")
    (granted / "link.txt").symlink_to(secret if target == "absolute" else Path("..") / "secret.txt")
    ext = load(preopens=[Preopen.read_write(granted, "/granted")])
    result = ext.invoke("read", {"path": "/granted/link.txt"})
    assert "error" in result, result
    assert "secret" not in str(result.get("ok"))
    assert "error" in ext.invoke("write", {"path": "/granted/link.txt", "text": "overwritten"})
    assert secret.read_text() == "secret"


def test_a_symlinked_directory_inside_the_grant_does_not_lead_outside(load: Load, granted: Path) -> None:
    (granted / "etc").symlink_to("/etc")
    ext = load(preopens=[Preopen.read_only(granted, "/granted")])
    assert "error" in ext.invoke("read", {"path": "/granted/etc/passwd"})
    assert "error" in ext.invoke("listdir", {"path": "/granted/etc"})


# -- environment, processes, sockets ---------------------------------------------------


def test_the_hosts_environment_is_not_visible(load: Load, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMPHONY_HOST_SECRET", "do-not-leak")
    ext = load(environment={"GREETING": "hello"})
    assert ext.invoke("env") == {"GREETING": "hello"}
    assert "do-not-leak" not in str(ext.invoke("env"))
    assert os.environ["SYMPHONY_HOST_SECRET"] == "do-not-leak"


def test_one_extensions_configuration_is_invisible_to_another(load: Load) -> None:
    holder = load(environment={"API_TOKEN": "holder-secret"})
    snoop = load(environment={"MODE": "snoop"})
    assert snoop.invoke("env") == {"MODE": "snoop"}
    assert holder.invoke("env") == {"API_TOKEN": "holder-secret"}


def test_spawning_a_process_is_impossible(load: Load) -> None:
    result = load().invoke("spawn")
    assert result["error"] in {"AttributeError", "OSError", "NotImplementedError"}, result


def test_opening_a_socket_fails_even_to_a_listening_loopback_server(load: Load, loopback: str) -> None:
    # componentize-py's CPython has no socket module at all; were one added, WASI sockets
    # would still be refused because the runtime never grants the guest network access.
    result = load().invoke("socket", {"port": int(loopback.rsplit(":", 1)[1])})
    assert result["error"] in {"ModuleNotFoundError", "OSError", "PermissionError"}, result


# -- network and models through the host ------------------------------------------------


def test_http_to_an_undeclared_host_is_denied_with_the_grant_command(load: Load, loopback: str) -> None:
    services = Services()
    ext = load(permissions=AllowList(hosts=("example.org",)), services=services)
    result = ext.invoke("http", {"url": f"http://{loopback}/"})
    assert result["error"] == "HostError_Denied"
    assert f"network:{loopback}" in result["message"]
    assert "symphony ext grant" in result["message"]
    assert ext.stats.denials == 1


def test_http_to_a_declared_host_is_performed_by_the_host(load: Load, loopback: str, services: Services) -> None:
    checker = AllowList(hosts=(loopback,))
    ext = load(permissions=checker, services=services)
    assert ext.invoke("http", {"url": f"http://{loopback}/hello"}) == {
        "ok": {"status": 200, "body": "hello from loopback"}
    }
    assert checker.asked == [NetworkAccess(hosts=(loopback,))]
    assert ext.stats.denials == 0


def test_http_without_a_network_service_fails_cleanly(load: Load, loopback: str) -> None:
    ext = load(permissions=AllowList(hosts=(loopback,)))
    result = ext.invoke("http", {"url": f"http://{loopback}/"})
    assert result == {"error": "HostError_Failed", "message": "this host offers no network service to wasm extensions"}


def test_a_non_http_url_is_refused_before_any_check(load: Load, services: Services) -> None:
    checker = AllowList(hosts=("localhost",))
    result = load(permissions=checker, services=services).invoke("http", {"url": "file:///etc/passwd"})
    assert result["error"] == "HostError_Failed"
    assert checker.asked == []


def test_a_model_call_is_denied_unless_granted(load: Load, services: Services) -> None:
    ext = load(permissions=AllowList(models=("small-model",)), services=services)
    denied = ext.invoke("model", {"model": "big-model", "input": "{}"})
    assert denied["error"] == "HostError_Denied"
    assert "model:big-model" in denied["message"]
    assert ext.invoke("model", {"model": "small-model", "input": '{"q": 1}'}) == {
        "ok": '{"model": "small-model", "echo": {"q": 1}}'
    }
    assert services.model_calls == [("small-model", '{"q": 1}')]


def test_a_broken_permission_check_fails_closed(load: Load, loopback: str, services: Services) -> None:
    def broken(permission: object) -> None:
        raise KeyError("grants table missing")

    result = load(permissions=broken, services=services).invoke("http", {"url": f"http://{loopback}/"})
    assert result["error"] == "HostError_Denied"
    assert "permission check failed" in result["message"]


# -- runaway guests -----------------------------------------------------------------------


def test_spinning_forever_runs_out_of_fuel_and_the_next_call_works(load: Load) -> None:
    ext = load(limits=WasmLimits(fuel=50_000_000, timeout=30))
    with pytest.raises(WasmTrapError, match=r"ran out of fuel \(50,000,000 units per invocation\)") as caught:
        ext.invoke("spin")
    assert caught.value.reason == "fuel"
    assert caught.value.extension == "hostile"
    assert_recovers(ext)
    assert ext.stats.traps_by_reason == {"fuel": 1}


def test_spinning_past_the_wall_clock_timeout_is_interrupted(load: Load) -> None:
    ext = load(limits=WasmLimits(fuel=10**15, timeout=0.2))  # fuel for hours: only the deadline can stop it
    with pytest.raises(WasmTrapError, match=r"exceeded its wall-clock timeout of 0.2 s") as caught:
        ext.invoke("spin")
    assert caught.value.reason == "deadline"
    assert_recovers(ext)


def test_allocating_past_the_memory_limit_is_stopped_and_the_next_call_works(load: Load) -> None:
    ext = load(limits=WasmLimits(memory_bytes=64 * 1024 * 1024))
    with pytest.raises(WasmTrapError, match=r"hit its memory limit of 64 MiB") as caught:
        ext.invoke("allocate")
    assert caught.value.reason == "memory"
    assert_recovers(ext)


def test_an_unhandled_guest_exception_reports_its_traceback(load: Load) -> None:
    ext = load()
    with pytest.raises(WasmTrapError, match="raised an exception it did not handle") as caught:
        ext.invoke("crash")
    assert caught.value.reason == "guest"
    assert "ValueError: the guest gave up" in caught.value.guest_output
    assert_recovers(ext)


def test_repeated_traps_never_poison_later_calls(load: Load) -> None:
    ext = load(limits=WasmLimits(fuel=20_000_000))
    for _ in range(3):
        with pytest.raises(WasmTrapError):
            ext.invoke("spin")
        assert_recovers(ext)
    assert ext.stats.traps == 3


def test_a_trap_in_one_extension_leaves_another_untouched(load: Load) -> None:
    victim, attacker = load(), load(limits=WasmLimits(fuel=20_000_000))
    assert victim.invoke("echo", 1) == 1
    with pytest.raises(WasmTrapError):
        attacker.invoke("spin")
    assert victim.invoke("echo", 2) == 2
    assert victim.stats.instantiations == 1


def test_guest_output_is_bounded(load: Load) -> None:
    ext = load(limits=WasmLimits(output_bytes=100))
    with pytest.raises(WasmTrapError) as caught:
        ext.invoke("crash")
    assert "more bytes dropped" in caught.value.guest_output
    assert len(ext.output.buffer) == 100


def test_long_log_lines_are_cut(load: Load, caplog: pytest.LogCaptureFixture) -> None:
    ext = load(limits=WasmLimits(log_bytes=10))
    with caplog.at_level("WARNING", logger="symphony.extensions.hostile"):
        ext.invoke("log", {"message": "x" * 1000})
    assert caplog.records[-1].getMessage() == "x" * 10 + "... [cut at 10 characters]"


def test_a_log_line_cannot_forge_host_lines_or_drive_the_terminal(load: Load, caplog: pytest.LogCaptureFixture) -> None:
    ext = load()
    with caplog.at_level("WARNING", logger="symphony.extensions.hostile"):
        ext.invoke("log", {"message": "ok\nCRITICAL symphony.host: granted\x1b[2J"})
    assert caplog.records[-1].getMessage() == "ok\\x0aCRITICAL symphony.host: granted\\x1b[2J"
