"""``embed``: sentences through the ``embed`` instrument in a workflow run, against the bare numpy forward pass.

Records, each against a baseline measured in the same run:

- ``embed.workflow@64``: one run of a one-node workflow embedding 64 sentences
  (the DAG tracker, the pool manager, the model's worker process, msgpack both
  ways, JSON outputs checkpointed), median ms per run with the model hot,
  against ``Embedder.vectors`` of the same 64 sentences called directly in a
  process of its own (the worker's setting: one BLAS thread).  Goal <= 1.1x.
- ``embed.cold_start``: the first run on a fresh host (spawning the worker,
  loading the weights from the unpacked cache, the forward pass), against
  the direct process's ``load`` plus one ``vectors`` call.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import Record, record
from symphony.builtin_plugins.orchestra import plugin as orchestra_plugin
from symphony.builtin_plugins.pit.dag import plugin as dag_plugin
from symphony.builtin_plugins.pit.pool import plugin as pool_plugin
from symphony.builtin_plugins.workflow import decode
from symphony.host import Host, Settings

__all__ = ["run"]

_SUBJECTS = ("A man", "The committee", "My neighbour's dog", "The new compiler", "A small startup", "The orchestra")
_VERBS = ("is eating", "rejected", "quietly repaired", "wrote about", "was looking for", "performed")
_OBJECTS = ("a piece of bread", "the quarterly budget", "an old bicycle", "a memory leak", "the perfect venue")
_TAILS = ("before noon.", "after a long debate.", "in the rain.", "with great care.")
SENTENCES = [f"{s} {v} {o} {t}" for s in _SUBJECTS for v in _VERBS for o in _OBJECTS for t in _TAILS][::7][:64]

WORKFLOW = """
schema_version = 1
id = "embed-bench"
name = "Embed sentences"
[inputs]
texts = { type = "list[string]" }
[outputs]
vectors = "embed.vectors"
[nodes.embed]
kind = "instrument"
uses = "embed"
[[edges]]
kind = "data"
from = "inputs.texts"
to = "embed.texts"
"""

_DIRECT = """
import json, sys, time
from symphony.builtin_plugins.orchestra.embedding.model import load
texts, cache = json.loads(sys.stdin.readline())
started = time.perf_counter()
model = load({"cache_dir": cache})
model.vectors(texts)
print(time.perf_counter() - started, flush=True)
for _ in sys.stdin:
    started = time.perf_counter()
    model.vectors(texts)
    print(time.perf_counter() - started, flush=True)
"""


class _Direct:
    """The bare forward pass in a process of its own with one BLAS thread, as the pool's worker runs it.

    It times one ``vectors`` call per line it reads, so its rounds interleave with the workflow's and
    both see the same machine load.
    """

    def __init__(self, cache: Path) -> None:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _DIRECT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self.cold = self._ask(json.dumps([SENTENCES, str(cache)]))

    def _ask(self, line: str) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def time(self) -> float:
        return self._ask("")

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


async def _measure(root: Path, runs: int) -> tuple[float, list[float], float, list[float]]:
    """(cold run, warm runs) through a workflow and (cold load, calls) of the direct process, in seconds."""
    _Direct(root / "cache").close()  # unpack the weights once: both sides then load from the cache
    direct = _Direct(root / "cache")
    host = Host(
        Settings(data_dir=root / "data", cache_dir=root / "cache"),
        plugins=(dag_plugin, orchestra_plugin, pool_plugin),
        discover_plugins=False,
    )
    try:
        async with host:
            tracker = host.port("dag_tracker")
            workflow = decode(WORKFLOW.encode(), "toml")
            started = time.perf_counter()
            result = await tracker.run(workflow, {"texts": SENTENCES})
            cold = time.perf_counter() - started
            assert result.state == "succeeded", result.error
            times, direct_times = [], []
            for _ in range(runs):
                started = time.perf_counter()
                result = await tracker.run(workflow, {"texts": SENTENCES})
                times.append(time.perf_counter() - started)
                assert len(result.outputs["vectors"]) == len(SENTENCES)
                direct_times.append(direct.time())
            await tracker.close()
    finally:
        direct.close()
    return cold, times, direct.cold, direct_times


def run(quick: bool) -> list[Record]:
    with tempfile.TemporaryDirectory(prefix="symphony-bench-embed-") as scratch:
        cold, times, direct_cold, direct_times = asyncio.run(_measure(Path(scratch), 3 if quick else 15))
    n = len(SENTENCES)
    return [
        record(
            f"embed.workflow@{n}",
            statistics.median(times) * 1000,
            "ms",
            f"Embedder.vectors of the same {n} sentences, directly (1 BLAS thread)",
            statistics.median(direct_times) * 1000,
            goal="<= 1.1x",
        ),
        record(
            "embed.cold_start",
            cold * 1000,
            "ms",
            "load() + one vectors() call in a process of its own",
            direct_cold * 1000,
        ),
    ]
