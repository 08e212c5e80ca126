"""Keeps one editor-core process alive: started on first use, watched by heartbeats, restarted and resynced.

The core is gone when its output ends (it exited or was killed) or when
``missed_heartbeats`` pings in a row get no answer within
``heartbeat_timeout`` while it says nothing else (it hangs; it is then
killed).  It is started again at once the first time, then after the
``restart`` policy's backoff (``RetryPolicy.delay``) while it keeps dying
within ``stable_after`` seconds; after ``restart.max_attempts`` restarts in a
row it is left down (``failed``) and callers get a TransportError saying why.

Before a new core serves callers, ``resync`` reopens every buffer in it;
callers waiting meanwhile (and requests the dead core never answered) go on
once it has.  Each transition is an event ``editor.core.<state>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Literal

from symphony.hookspecs import HealthStatus, RetryPolicy, TransportError

from .connection import CoreConnection, CoreError, CoreGone, Request, spawn_core

__all__ = ["DEFAULT_RESTART", "CoreState", "CoreSupervisor"]

log = logging.getLogger("symphony.editor.bridge")

CoreState = Literal["stopped", "starting", "running", "restarting", "failed"]

#: Up to 5 restarts in a row: at once, then after 0.1, 0.2, 0.4, 0.8 s.
DEFAULT_RESTART: Final = RetryPolicy(max_attempts=5, backoff_initial=0.1, backoff_multiplier=2.0, backoff_max=10.0)


class CoreSupervisor:
    """The editor core process of one port; see the module docstring."""

    def __init__(
        self,
        *,
        on_update: Callable[[dict[str, Any], Request | None], None],
        resync: Callable[[CoreConnection], Awaitable[None]],
        emit: Callable[[str, dict[str, Any]], None],
        argv: Sequence[str] | None = None,
        heartbeat_interval: float = 1.0,
        heartbeat_timeout: float = 2.0,
        missed_heartbeats: int = 2,
        restart: RetryPolicy = DEFAULT_RESTART,
        stable_after: float = 30.0,
        spare: bool = True,
    ) -> None:
        if heartbeat_interval <= 0 or heartbeat_timeout <= 0 or missed_heartbeats < 1:
            raise ValueError("heartbeat_interval and heartbeat_timeout must be > 0 and missed_heartbeats >= 1")
        self._on_update = on_update
        self._resync = resync
        self._emit = emit
        self._argv = list(argv) if argv is not None else None
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.missed_heartbeats = missed_heartbeats
        self.restart = restart
        self.stable_after = stable_after
        #: Keep a second core started and idle, so a restart skips the interpreter's start (~16 MB RSS).
        self.spare = spare
        self._spare: asyncio.Task[CoreConnection] | None = None
        self.state: CoreState = "stopped"
        #: Times the core was started again after it died or hung.
        self.restarts = 0
        #: What happened to the last core, e.g. "(pid 12) was killed by SIGKILL".
        self.last_failure: str | None = None
        self._connection: CoreConnection | None = None
        self._ready: asyncio.Future[CoreConnection] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def pid(self) -> int | None:
        return self._connection.pid if self._connection is not None else None

    @property
    def spare_pid(self) -> int | None:
        """The idle spare core's pid, once it has started."""
        spare = self._spare
        if spare is None or not spare.done() or spare.cancelled() or spare.exception() is not None:
            return None
        return spare.result().pid

    async def connection(self) -> CoreConnection:
        """The running, resynced core (started now if it never was); TransportError once it is given up."""
        if self._task is None:
            if self.state == "failed":
                raise self._given_up()
            if self._stopped:
                raise _stopped()
            self._ready = asyncio.get_running_loop().create_future()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="editor-core")
        while True:
            ready = self._ready
            if ready is None:
                raise _stopped()
            connection = await asyncio.shield(ready)
            if not connection.closed.done():
                return connection
            if ready is self._ready:  # the core died and _gone has not yet run: let it
                await asyncio.sleep(0)

    async def stop(self) -> None:
        """End the core (asking it first) for good; callers still waiting, and later ones, get a TransportError."""
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        spare, self._spare = self._spare, None
        if spare is not None:
            with contextlib.suppress(TransportError):
                await (await spare).close()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(_stopped())
            self._ready.exception()  # nobody may be waiting: do not warn about it
        self._ready = None
        self._set_state("stopped")

    def health(self) -> HealthStatus:
        details: dict[str, Any] = {
            "state": self.state,
            "restarts": self.restarts,
            "pid": self.pid,
            "spare_pid": self.spare_pid,
        }
        if self.state == "running":
            return HealthStatus.ok(f"editor core pid {self.pid}, {self.restarts} restart(s)", **details)
        if self.state == "stopped":
            return HealthStatus.ok("editor core not started (it starts on first use)", **details)
        if self.state == "failed":
            return HealthStatus.failed(
                f"the editor core gave up after {self.restarts} restart(s): {self.last_failure}",
                fix="See the core's errors on stderr (`symphony editor-core` runs it alone), then restart the host.",
            )
        return HealthStatus(status="degraded", message=f"the editor core is {self.state}", details=details)

    # -- supervision -------------------------------------------------------------------

    async def _run(self) -> None:
        in_a_row = 0
        while True:
            if in_a_row:
                if in_a_row > self.restart.max_attempts:
                    self._give_up()
                    return
                self._set_state("restarting")
                await asyncio.sleep(self.restart.delay(in_a_row))
                self.restarts += 1
            else:
                self._set_state("starting")
            started = time.monotonic()
            failure = await self._life()
            self.last_failure = failure
            log.warning("editor core %s", failure)
            in_a_row = 1 if time.monotonic() - started >= self.stable_after else in_a_row + 1

    async def _life(self) -> str:
        """Start, resync and serve one core; returns what ended it."""
        try:
            connection = await self._spawn()
        except TransportError as error:
            return f"could not be started: {error}"
        self._connection = connection
        connection.closed.add_done_callback(self._gone)
        try:
            await self._resync(connection)
        except CoreGone:
            return await connection.closed
        except CoreError as error:
            connection.kill()
            await connection.closed
            return f"refused to reopen a buffer ({error.message}) and was killed"
        assert self._ready is not None
        self._ready.set_result(connection)
        self._set_state("running")
        if self.spare and self._spare is None:
            self._spare = asyncio.get_running_loop().create_task(spawn_core(self._on_update, self._argv))
        beats = asyncio.get_running_loop().create_task(self._heartbeat(connection))
        try:
            either: list[asyncio.Future[Any]] = [connection.closed, beats]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats
        if not connection.closed.done():  # hung
            connection.kill()
            await connection.closed
            return (
                f"(pid {connection.pid}) stopped answering heartbeats"
                f" ({self.missed_heartbeats} missed, {self.heartbeat_timeout:g} s each) and was killed"
            )
        return connection.closed.result()

    async def _spawn(self) -> CoreConnection:
        """The spare core if one is ready and alive, else a new one."""
        spare, self._spare = self._spare, None
        if spare is not None and spare.done() and spare.exception() is None:
            connection = spare.result()
            if not connection.closed.done():
                return connection
        elif spare is not None:
            spare.add_done_callback(_close_unused)
        return await spawn_core(self._on_update, self._argv)

    def _gone(self, closed: asyncio.Future[str]) -> None:
        """Called as the core's output ends, before its unanswered requests fail: callers then wait for the next."""
        if self._ready is not None and self._ready.done() and not self._ready.cancelled():
            self._ready = asyncio.get_running_loop().create_future()

    async def _heartbeat(self, connection: CoreConnection) -> None:
        """Returns when the core missed ``missed_heartbeats`` pings in a row, saying nothing meanwhile."""
        missed = 0
        while missed < self.missed_heartbeats:
            await asyncio.sleep(self.heartbeat_interval)
            sent = time.monotonic()
            ping = connection.request("ping", {})
            try:
                await asyncio.wait_for(asyncio.shield(ping.response), self.heartbeat_timeout)
            except TimeoutError:
                missed = 0 if connection.last_heard > sent else missed + 1
            except CoreGone:
                await asyncio.Future()  # the reader reports it
            else:
                missed = 0

    def _give_up(self) -> None:
        self._task = None
        self._connection = None
        self._set_state("failed")
        log.error("editor core: giving up after %d restart(s) in a row", self.restart.max_attempts)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(self._given_up())
            self._ready.exception()

    def _given_up(self) -> TransportError:
        return TransportError(
            f"The editor core gave up after {self.restarts} restart(s): {self.last_failure}. "
            "See its errors on stderr, then restart the host."
        )

    def _set_state(self, state: CoreState) -> None:
        self.state = state
        data: dict[str, Any] = {"restarts": self.restarts, "pid": self.pid}
        if state in ("restarting", "failed") and self.last_failure:
            data["reason"] = self.last_failure
        self._emit(f"editor.core.{state}", data)


def _close_unused(spare: asyncio.Task[CoreConnection]) -> None:
    """A spare still starting when it was needed is not waited for: it is ended once started."""
    if not spare.cancelled() and spare.exception() is None:
        spare.result().kill()


def _stopped() -> TransportError:
    return TransportError("The editor core was stopped with the host; no buffer can be edited any more.")
