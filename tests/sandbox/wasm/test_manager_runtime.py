"""The wasm runtime behind the extension manager: traps cost one error, host calls go through the host."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import PermissionDeniedError, RetryPolicy
from symphony.hookspecs.runtimes import ExtensionCrashedError, Launch
from symphony.host.extensions._manager import ExtensionManager
from symphony.sandbox.wasm.adapter import WasmManagerRuntime

from .conftest import user_cache

FAST = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_multiplier=2.0, backoff_max=0.05)

pytestmark = pytest.mark.slow  # builds the hostile component once per session


async def model_host(method: str, params: dict[str, Any]) -> Any:
    if method == "model" and params["model"] == "stuck":
        await asyncio.Event().wait()  # a host call that never ends
    if method == "model" and params["model"] == "tiny":
        return f"tiny says: {params['input']}"
    raise PermissionDeniedError(f"extension 'hostile' may not use {method} {params.get('model') or params.get('url')}")


@pytest.fixture
async def extensions(hostile_component: Path, tmp_path: Path) -> Any:
    runtime = WasmManagerRuntime(user_cache("wasm-compiled-tests"))
    manager = ExtensionManager({"wasm": runtime}, lambda name: model_host, backoff=FAST)
    granted = tmp_path / "granted"
    granted.mkdir()
    (granted / "note.txt").write_text("inside")
    manager.register(
        Launch(
            name="hostile",
            kind="wasm",
            entry=str(hostile_component),
            timeout=2.0,
            read_paths=(str(granted),),
            config={"GREETING": "hi"},
        )
    )
    yield manager, granted
    await manager.close()
    runtime.close()


async def test_a_trap_costs_one_error_and_the_next_call_runs_on_a_fresh_instance(extensions: Any) -> None:
    manager, _ = extensions
    with pytest.raises(ExtensionCrashedError):
        await manager.invoke("hostile", "spin", {})
    assert await manager.invoke("hostile", "echo", {"a": 1}) == {"a": 1}
    row = manager.ps()[0]
    assert (row.failures, row.restarts, row.state) == (1, 1, "active")


async def test_granted_directories_are_readable_at_the_same_path(extensions: Any) -> None:
    manager, granted = extensions
    inside = await manager.invoke("hostile", "read", {"path": str(granted / "note.txt")})
    outside = await manager.invoke("hostile", "read", {"path": "/etc/passwd"})
    assert inside == {"ok": "inside"}
    assert outside["error"] in ("FileNotFoundError", "PermissionError", "OSError")


async def test_the_configuration_is_the_whole_environment(extensions: Any) -> None:
    manager, _ = extensions
    assert await manager.invoke("hostile", "env", {}) == {"GREETING": "hi"}


async def test_model_calls_are_answered_or_denied_by_the_host(extensions: Any) -> None:
    manager, _ = extensions
    allowed = await manager.invoke("hostile", "model", {"model": "tiny", "input": "x"})
    denied = await manager.invoke("hostile", "model", {"model": "huge", "input": "x"})
    assert allowed == {"ok": "tiny says: x"}
    assert denied["error"] == "HostError_Denied" and "may not use model huge" in denied["message"]
    assert manager.ps()[0].denials == 1


async def test_fuel_per_invocation_scales_with_the_cpu_share(hostile_component: Path) -> None:
    runtime = WasmManagerRuntime(user_cache("wasm-compiled-tests"))
    manager = ExtensionManager({"wasm": runtime}, lambda name: model_host, backoff=FAST)
    manager.register(Launch(name="hostile", kind="wasm", entry=str(hostile_component), timeout=30.0, cpu_share=0.001))
    try:
        with pytest.raises(ExtensionCrashedError, match=r"ran out of fuel \(2,000,000 units per invocation\)"):
            await manager.invoke("hostile", "spin", {})
    finally:
        await manager.close()
        runtime.close()


async def test_a_host_call_that_never_answers_fails_after_the_invocations_timeout(extensions: Any) -> None:
    manager, _ = extensions
    # wait_for only keeps a regression from hanging the suite: the runtime must end the call itself.
    outcome = await asyncio.wait_for(manager.invoke("hostile", "model", {"model": "stuck", "input": "x"}), 120)
    assert outcome["error"] == "HostError_Failed", outcome
    assert "did not answer 'model' within the extension's timeout of 2 s" in outcome["message"]
    assert await manager.invoke("hostile", "echo", {"after": 1}) == {"after": 1}
