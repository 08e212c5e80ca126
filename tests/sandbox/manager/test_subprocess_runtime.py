"""The extension manager over confined subprocess workers: crashes and timeouts cost one error each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import PermissionDeniedError, RetryPolicy
from symphony.hookspecs.runtimes import ExtensionCrashedError, ExtensionTimeoutError, Launch
from symphony.host.extensions._manager import ExtensionManager
from symphony.sandbox.subprocess.runtime import SubprocessRuntime

HOSTILE = str(Path(__file__).resolve().parents[2] / "distributions" / "ext-hostile" / "src")
FAST = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_multiplier=2.0, backoff_max=0.05)


async def nothing_allowed(method: str, params: dict[str, Any]) -> Any:
    raise PermissionDeniedError(f"the test host offers no {method!r}")


def hostile(**options: Any) -> ExtensionManager:
    extensions = ExtensionManager({"subprocess": SubprocessRuntime()}, lambda name: nothing_allowed, backoff=FAST)
    settings: dict[str, Any] = {"timeout": 5.0, "memory_bytes": 256 * 2**20}
    settings.update(options)
    launch = Launch(
        name="hostile", kind="subprocess", entry="symphony_test_hostile:handle", sys_path=(HOSTILE,), **settings
    )
    extensions.register(launch)
    return extensions


async def test_a_crashing_worker_costs_one_error_and_the_next_call_gets_a_fresh_one() -> None:
    extensions = hostile()
    try:
        await extensions.invoke("hostile", "environ", {})
        first = extensions.ps()[0].pid
        with pytest.raises(ExtensionCrashedError, match="SIGABRT"):
            await extensions.invoke("hostile", "crash", {})
        assert (await extensions.invoke("hostile", "environ", {}))["outcome"] == "allowed"
        row = extensions.ps()[0]
        assert (row.state, row.failures, row.restarts) == ("active", 1, 1)
        assert row.pid not in (None, first)
        assert row.memory_bytes and row.memory_bytes > 0
    finally:
        await extensions.close()


async def test_a_spinning_worker_is_stopped_at_its_wall_clock_limit() -> None:
    extensions = hostile(timeout=0.5)
    try:
        with pytest.raises(ExtensionTimeoutError):
            await extensions.invoke("hostile", "spin", {})
        assert extensions.ps()[0].state == "backoff"
        assert (await extensions.invoke("hostile", "environ", {}))["outcome"] == "allowed"
    finally:
        await extensions.close()


async def test_a_denied_host_call_is_counted_and_the_worker_keeps_serving() -> None:
    extensions = hostile()
    try:
        result = await extensions.invoke("hostile", "http", {"url": "http://example.com/"})
        assert result["outcome"] == "denied" and "offers no 'http'" in result["error"]
        assert extensions.ps()[0].denials == 1
        assert extensions.ps()[0].failures == 0
    finally:
        await extensions.close()
