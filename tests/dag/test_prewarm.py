"""The lookahead inside a real host: the pool warms an instrument's model while the operator before it runs."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.hookspecs import Event
from symphony.host import Host, Settings

from . import modelled, ops
from .conftest import flow
from .modelled import LOAD_SECONDS


def _workflow(before: int, sleep: float) -> str:
    """``before`` operators in a chain, each sleeping ``sleep`` s, then the instrument using the model."""
    names = [f"op{i}" for i in range(before)]
    text = "".join(
        f'[nodes.{n}]\nkind = "operator"\nuses = "test-record"\nconfig = {{ name = "{n}", sleep = {sleep} }}\n'
        for n in names
    )
    text += '[nodes.model]\nkind = "instrument"\nuses = "test-modelled"\n'
    chain = [*names, "model"]
    for source, target in itertools.pairwise(chain):
        text += f'[[edges]]\nkind = "data"\nfrom = "{source}.value"\nto = "{target}.value"\n'
    return text + '[outputs]\nstate = "model.state"\n'


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[Host]:
    """The default distribution plus the test operators and the slow-loading model; lookahead 2."""
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    async with Host(settings, plugins=[ops, modelled], discover_plugins=True) as started:
        yield started


async def _run(host: Host, text: str) -> Any:
    tracker = host.port("dag_tracker")
    return await tracker.wait(await tracker.execute(flow(text), {}))


async def test_an_instrument_after_a_slower_operator_finds_its_model_hot_and_counts_a_prewarm_hit(host: Host) -> None:
    result = await _run(host, _workflow(before=1, sleep=LOAD_SECONDS * 2))

    status = host.port("pool_manager").status()
    assert result.state == "succeeded"
    assert result.outputs["state"] == "hot"
    assert (status.predictions, status.prewarm_hits, status.cold_starts) == (1, 1, 0)


async def test_an_instrument_beyond_the_lookahead_is_prewarmed_only_once_the_frontier_comes_near(host: Host) -> None:
    tracker = host.port("dag_tracker")
    pool = host.port("pool_manager")
    events: list[Event] = []

    run_id = await tracker.execute(flow(_workflow(before=3, sleep=0.3)), {}, events.append)
    result = await tracker.wait(run_id)

    topics = [(e.topic, e.data.get("node")) for e in events if e.topic in ("node.succeeded", "run.prewarmed")]
    assert result.state == "succeeded"
    assert topics.index(("run.prewarmed", None)) == topics.index(("node.succeeded", "op0")) + 1
    assert pool.status().predictions == 1


async def test_a_host_without_arbitration_or_pool_runs_workflows_as_before(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    async with Host(settings, plugins=[dag_plugin, ops, modelled], discover_plugins=False) as bare:
        tracker = bare.port("dag_tracker")
        text = '[nodes.a]\nkind = "operator"\nuses = "test-record"\nconfig = { name = "a" }\n'
        result = await tracker.run(flow(text), {})

        assert result.state == "succeeded"
        assert tracker.arbitration is None and tracker.pool() is None
