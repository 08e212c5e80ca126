"""Lineage and the node cache after real ``symphony run`` processes with the builtin artifact store."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from symphony.builtin_plugins.data import plugin as data_plugin
from symphony.builtin_plugins.orchestra.operators import OPERATORS
from symphony.builtin_plugins.pit.artifacts import ArtifactStore
from symphony.builtin_plugins.pit.dag import DagTracker, Implementations
from symphony.builtin_plugins.pit.dag.options import TrackerOptions
from symphony.hookspecs import Event
from symphony.hookspecs.ports import DataAccessPort
from symphony.host import Host, Settings
from tests.dag import ops
from tests.dag.conftest import flow

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TITLE = str(REPO / "examples" / "extract-title.toml")

#: Prints the lineage of a run (argv[1]) as JSON, read from the store in the data directory (argv[2]).
LINEAGE = """
import json, sys
import msgspec
from pathlib import Path
from symphony.builtin_plugins.pit.artifacts.store import ArtifactStore

store = ArtifactStore(Path(sys.argv[2]) / "artifacts")
entries = store.catalog.of_run(sys.argv[1])
print(json.dumps({
    "run": [msgspec.to_builtins(e) for e in entries],
    "used_by": {e.artifact_id: [u.node_id for u in store.catalog.used_by(e.artifact_id)] for e in entries},
    "produced": {e.artifact_id: [p.node_id for p in store.catalog.produced(e.artifact_id)] for e in entries},
}))
"""


def lineage(runner: Symphony, run_id: str) -> dict[str, Any]:
    result = runner.python(LINEAGE, run_id, str(runner.data_dir))
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
def ran(symphony: Callable[..., Symphony]) -> tuple[Symphony, dict[str, Any]]:
    runner = symphony()
    document = runner.json("run", TITLE, "--input", "html=<title>Hi</title>")
    assert document["state"] == "succeeded"
    return runner, lineage(runner, document["run_id"])


def by_node(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["node_id"]: entry for entry in found["run"]}


def digest(value: Any) -> str:
    """The artifact id of a value as the tracker checkpoints it (MessagePack)."""
    return "sha256:" + hashlib.sha256(msgspec.msgpack.encode(value)).hexdigest()


def test_every_node_output_of_a_run_has_its_artifact_id_and_producer(ran: tuple[Symphony, dict[str, Any]]) -> None:
    _, found = ran
    nodes = by_node(found)
    assert set(nodes) == {"find", "pick", "announce"}
    assert nodes["announce"]["artifact_id"] == digest({"text": "The page is called Hi."})
    assert nodes["find"]["contribution"] == "regex-extract"
    assert nodes["find"]["contribution_version"].startswith("symphony-builtins==")


def test_a_node_fed_by_the_workflow_inputs_lists_them_as_one_artifact(ran: tuple[Symphony, dict[str, Any]]) -> None:
    _, found = ran
    assert by_node(found)["find"]["inputs"] == [digest({"html": "<title>Hi</title>"})]


def test_each_node_lists_the_outputs_it_read_as_its_inputs(ran: tuple[Symphony, dict[str, Any]]) -> None:
    _, found = ran
    nodes = by_node(found)
    assert nodes["pick"]["inputs"] == [nodes["find"]["artifact_id"]]
    assert nodes["announce"]["inputs"] == [nodes["pick"]["artifact_id"]]


def test_what_used_an_output_and_what_produced_it_are_answered_from_the_store(
    ran: tuple[Symphony, dict[str, Any]],
) -> None:
    _, found = ran
    nodes = by_node(found)
    assert found["used_by"][nodes["find"]["artifact_id"]] == ["pick"]
    assert found["used_by"][nodes["announce"]["artifact_id"]] == []
    assert found["produced"][nodes["pick"]["artifact_id"]] == ["pick"]


# -- the node cache and the contribution's version ---------------------------------------


def install(site: Path, version: str) -> None:
    """Install the DAG tests' operators in ``site`` as distribution ``symphony-vertest`` at ``version``."""
    for old in site.glob("symphony_vertest-*.dist-info"):
        shutil.rmtree(old)
    shutil.copy(REPO / "tests" / "dag" / "ops.py", site / "symphony_vertest_ops.py")
    info = site / f"symphony_vertest-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: symphony-vertest\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[symphony.plugins]\nvertest = symphony_vertest_ops\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def cached_flow(tmp_path: Path) -> Path:
    flow = tmp_path / "cached.toml"
    flow.write_text(
        'schema_version = 1\nid = "c"\nname = "c"\n[inputs]\nx = { type = "any" }\n'
        '[nodes.c]\nkind = "operator"\nuses = "test-record"\n'
        f'config = {{ log = "{tmp_path / "log"}", name = "c", run = {{ cache = true }} }}\n'
        '[[edges]]\nkind = "data"\nfrom = "inputs.x"\nto = "c.value"\n'
    )
    return flow


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site holding ``symphony-vertest`` 1.0."""
    path = tmp_path / "site"
    path.mkdir()
    install(path, "1.0")
    return path


def cached(runner: Symphony, flow: Path) -> bool:
    document = runner.json("run", str(flow), "--input", "x=1")
    assert document["state"] == "succeeded"
    return bool(document["nodes"]["c"]["cached"])


def test_the_same_version_of_a_contribution_reuses_its_cached_output(
    symphony: Callable[..., Symphony], site: Path, cached_flow: Path
) -> None:
    runner = symphony(site)
    assert [cached(runner, cached_flow), cached(runner, cached_flow)] == [False, True]


def test_a_new_version_of_a_contribution_does_not_hit_the_old_versions_cache(
    symphony: Callable[..., Symphony], site: Path, cached_flow: Path
) -> None:
    runner = symphony(site)
    cached(runner, cached_flow)
    install(site, "2.0")
    assert cached(runner, cached_flow) is False


@pytest.fixture
async def records(tmp_path: Path) -> AsyncIterator[DataAccessPort]:
    """Port ``data_access`` of a started host holding only the data plugin: the embedded service under tmp_path."""
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    host = Host(settings, plugins=(data_plugin,), discover_plugins=False).load()
    async with host:
        yield host.port("data_access")


def in_process(
    tmp_path: Path, records: DataAccessPort, emit: Callable[[Event], None] | None = None, **options: Any
) -> tuple[ArtifactStore, DagTracker]:
    """A tracker over the builtin and test operators: runs recorded in ``records``, outputs in a real artifact store."""
    store = ArtifactStore(tmp_path / "artifacts")
    tracker = DagTracker(
        Implementations.of([*OPERATORS, *ops.OPERATORS]),
        records=records,
        log_dir=tmp_path / "runs",
        artifacts=store,
        options=TrackerOptions(**options),
        emit=emit,
    )
    return store, tracker


#: a and b feed a merge (mode all) whose output feeds last.
MERGED = (
    "".join(f'[nodes.{n}]\nkind = "operator"\nuses = "test-record"\nconfig = {{ name = "{n}" }}\n' for n in "ab")
    + '[nodes.last]\nkind = "operator"\nuses = "test-record"\n'
    + '[nodes.m]\nkind = "control"\ncontrol = "merge"\nconfig = { mode = "all" }\n'
    + "".join(
        f'[[edges]]\nkind = "data"\nfrom = "{source}"\nto = "{target}"\n'
        for source, target in [("a.value", "m.in"), ("b.value", "m.in"), ("m.out", "last.value")]
    )
)


async def test_a_node_after_a_control_node_lists_what_fed_the_control_node(
    tmp_path: Path, records: DataAccessPort
) -> None:
    store, tracker = in_process(tmp_path, records)
    result = await tracker.run(flow(MERGED), {})
    entries = {entry.node_id: entry for entry in store.catalog.of_run(result.run_id)}
    assert set(entries) == {"a", "b", "last"}
    assert sorted(entries["last"].inputs) == sorted([entries["a"].artifact_id, entries["b"].artifact_id])


async def test_an_output_over_the_inline_limit_is_stored_and_retrievable_by_its_lineage_id(
    tmp_path: Path, records: DataAccessPort
) -> None:
    store, tracker = in_process(tmp_path, records, inline_limit=16)
    template = "x" * 64
    workflow = flow(f'[nodes.t]\nkind = "operator"\nuses = "text-template"\nconfig = {{ template = "{template}" }}\n')
    result = await tracker.run(workflow, {})
    (entry,) = store.catalog.of_run(result.run_id)
    assert msgspec.msgpack.decode(await store.get(entry.artifact_id)) == {"text": "x" * 64}


async def test_a_lineage_write_that_fails_is_an_event_and_the_run_still_succeeds(
    tmp_path: Path, records: DataAccessPort
) -> None:
    events: list[Event] = []
    _, tracker = in_process(tmp_path, records, emit=events.append)
    with sqlite3.connect(tmp_path / "artifacts" / "index.db") as db:  # a damaged index: the lineage table is gone
        db.execute("DROP TABLE lineage_inputs")
        db.execute("DROP TABLE lineage")
    workflow = flow('[nodes.t]\nkind = "operator"\nuses = "text-template"\nconfig = { template = "hi" }\n')
    result = await tracker.run(workflow, {})
    assert result.state == "succeeded"
    (failed,) = [event.data for event in events if event.topic == "run.lineage_failed"]
    assert failed["nodes"] == ["t"]
    assert "no such table: lineage" in failed["error"]
