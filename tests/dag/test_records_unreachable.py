"""A run whose data service goes away stops: nothing depending on an unsaved checkpoint starts, and the error says so.

The service is ``symphony data serve`` in a subprocess (tests/data's fixtures), killed mid-run;
the tracker reaches it over loopback HTTP, as a host configured with a remote service does.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from symphony.builtin_plugins.data.client import DataClient
from symphony.builtin_plugins.data.embedded import open_embedded
from symphony.builtin_plugins.orchestra.operators import OPERATORS as BUILTIN_OPERATORS
from symphony.builtin_plugins.pit.dag import DagTracker, Implementations
from symphony.hookspecs import NetworkError
from tests.data.conftest import Serve, home, serve  # noqa: F401 (fixtures this module uses)

from . import ops
from .conftest import flow, started

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow

DEADLINE = 30.0


def _node(name: str, log: Path, extra: str = "") -> str:
    head = f'[nodes.{name}]\nkind = "operator"\nuses = "test-record"\n'
    return head + f'config = {{ name = "{name}", log = "{log}"{extra} }}\n'


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.01)


async def test_a_run_whose_checkpoints_cannot_be_saved_stops_with_a_network_error_saying_how_to_resume(
    serve: Serve,  # noqa: F811 (the fixture imported above)
    home: Symphony,  # noqa: F811
    tmp_path: Path,
) -> None:
    open_embedded(home.data_dir / "data").close()  # the served database, with its admin's token file
    token = (home.data_dir / "data" / "token").read_text().strip()
    server = serve(home)
    log, gate = tmp_path / "log", tmp_path / "go"
    workflow = flow(
        _node("a", log, f', wait_for = "{gate}"')
        + _node("b", log)
        + '[[edges]]\nkind = "data"\nfrom = "a.value"\nto = "b.value"\n'
    )
    async with DataClient.remote(server.url, token, timeout=5) as records:
        tracker = DagTracker(Implementations.of([*BUILTIN_OPERATORS, *ops.OPERATORS]), records=records)
        run_id = await tracker.start(workflow, {})
        await _until(lambda: started(log) == ["a"], "node a starts")
        server.stop(signal.SIGKILL)
        gate.touch()

        with pytest.raises(NetworkError) as raised:
            await tracker.wait(run_id)
        await tracker.close()

    message = str(raised.value)
    assert f"Run {run_id} stopped: the data service could not save its checkpoints" in message
    assert f"symphony runs resume {run_id}" in message
    assert started(log) == ["a"]  # b depends on a checkpoint that was never saved
