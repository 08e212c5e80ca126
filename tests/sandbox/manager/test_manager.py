"""The extension manager: lazy activation, restart with backoff, crash loops, denials, ps."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import ExtensionError, PermissionDeniedError, RetryPolicy
from symphony.hookspecs.runtimes import ExtensionDisabledError, ExtensionTimeoutError, Launch
from symphony.host.extensions._manager import ExtensionManager
from symphony.sandbox.inprocess import InProcessRuntime

HERE = str(Path(__file__).parent)
FAST = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_multiplier=2.0, backoff_max=0.05)


async def deny_everything(method: str, params: dict[str, Any]) -> Any:
    raise PermissionDeniedError(f"extension 'trusted' may not call {method} {params.get('url')}")


def manager() -> ExtensionManager:
    return ExtensionManager({"python": InProcessRuntime()}, lambda name: deny_everything, backoff=FAST)


def launch(entry: str = "trusted_ext:handle", **options: Any) -> Launch:
    return Launch(name="trusted", kind="python", entry=entry, sys_path=(HERE,), **options)


async def test_an_extension_is_not_loaded_before_its_first_invocation() -> None:
    sys.modules.pop("trusted_ext", None)
    extensions = manager()
    extensions.register(launch(config={"greeting": "hi"}))
    assert "trusted_ext" not in sys.modules
    assert extensions.ps()[0].state == "inactive"
    assert await extensions.invoke("trusted", "upper", {"text": "abc"}) == {"text": "ABC", "greeting": "hi"}
    assert "trusted_ext" in sys.modules
    assert extensions.ps()[0].state == "active"


async def test_a_synchronous_entry_runs_off_the_event_loop_with_the_guest_api() -> None:
    extensions = manager()
    extensions.register(launch("trusted_ext:blocking", config={"greeting": "hey"}))
    assert await extensions.invoke("trusted", "x", {}) == {"thread": True, "operation": "x", "greeting": "hey"}
    with pytest.raises(PermissionDeniedError, match=r"may not call http\.request http://y"):
        await extensions.invoke("trusted", "fetch", {"url": "http://y"})


async def test_a_timeout_costs_one_error_and_the_next_call_restarts_it() -> None:
    extensions = manager()
    extensions.register(launch(timeout=0.05))
    with pytest.raises(ExtensionTimeoutError, match=r"'trusted' ran past its 0.05 s limit in 'sleep'"):
        await extensions.invoke("trusted", "sleep", {"seconds": 5})
    assert extensions.ps()[0].state == "backoff"
    assert await extensions.invoke("trusted", "upper", {"text": "a"}) == {"text": "A", "greeting": None}
    row = extensions.ps()[0]
    assert (row.state, row.failures, row.restarts, row.invocations) == ("active", 1, 1, 2)


async def test_failures_in_a_row_disable_the_extension_until_enabled() -> None:
    extensions = manager()
    extensions.register(launch(timeout=0.02))
    for _ in range(FAST.max_attempts):
        with pytest.raises(ExtensionTimeoutError):
            await extensions.invoke("trusted", "sleep", {"seconds": 5})
    with pytest.raises(
        ExtensionDisabledError, match=r"disabled after 3 failures in a row .*symphony ext enable trusted"
    ):
        await extensions.invoke("trusted", "upper", {"text": "a"})
    assert extensions.ps()[0].state == "disabled"
    extensions.enable("trusted")
    assert await extensions.invoke("trusted", "upper", {"text": "a"}) == {"text": "A", "greeting": None}


async def test_errors_the_extension_raises_are_answers_not_crashes() -> None:
    extensions = manager()
    extensions.register(launch())
    for _ in range(FAST.max_attempts + 1):
        with pytest.raises(ValueError, match="unknown operation 'nope'"):
            await extensions.invoke("trusted", "nope", {})
    row = extensions.ps()[0]
    assert (row.state, row.failures) == ("active", 0)


async def test_a_denied_host_call_is_counted() -> None:
    extensions = manager()
    extensions.register(launch())
    with pytest.raises(PermissionDeniedError, match=r"may not call http\.request http://x"):
        await extensions.invoke("trusted", "fetch", {"url": "http://x"})
    assert extensions.ps()[0].denials == 1


async def test_a_result_that_is_not_a_mapping_is_a_clear_error() -> None:
    extensions = manager()
    extensions.register(launch())
    with pytest.raises(ExtensionError, match="returned a list from 'not-a-dict'; expected a dict"):
        await extensions.invoke("trusted", "not-a-dict", {})


async def test_unknown_extensions_runtimes_and_entries_are_named() -> None:
    extensions = manager()
    with pytest.raises(
        ExtensionError,
        match=r"needs the .wasm. runtime, which no loaded plugin provides \(available: python\)\."
        r" Install symphony-sandbox",
    ):
        extensions.register(Launch(name="w", kind="wasm", entry="w.wasm"))
    with pytest.raises(ExtensionError, match=r"no extension 'ghost' is registered"):
        await extensions.invoke("ghost", "x", {})
    extensions.register(launch("trusted_ext:missing"))
    with pytest.raises(ExtensionError, match=r"cannot load entry 'trusted_ext:missing'"):
        await extensions.invoke("trusted", "x", {})
