"""Host start with 0, 100 and 1,000 installed plugin distributions, each run in a fresh process.

``startup.host@N`` is ``Host().load()`` (settings, discovery through the cached
entry-point index, import and registration) plus ``await host.start()``;
``startup.host_cold@N`` is the same with the index cache deleted first.  Both
are timed inside the process, against a bare ``importlib.metadata`` scan that
loads each entry point and registers it with a plain pluggy manager.  Interpreter
start and module imports are excluded, and the bare process imports the host's
modules untimed too, so that both load the plugins into the same module state;
``startup.host_import@N`` is what importing the host costs over pluggy and the SDK
(pydantic, which looked for its own plugins in every distribution, is no longer imported
once the validated settings are saved: see ``symphony.host._snapshot``).
``startup.plugins_list@N`` is the wall time of ``symphony plugins list --json``
against ``python -c pass``.  Bytecode is cached (see ``_sites.clean_env``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks import _sites
from benchmarks.run import Record, record

__all__ = ["run"]

GOAL = "with 1,000 installed, host start within 1.5x of the bare baseline and under 300 ms"
SEED_TARGET = "extension load <100 ms"
BARE_IMPORTS = "import importlib.metadata+pluggy+symphony.hookspecs"

_HOST = """
import json, time
t0 = time.perf_counter()
from symphony.host._host import Host
t1 = time.perf_counter()
import asyncio

async def main():
    t2 = time.perf_counter()
    host = Host().load()
    await host.start()
    t3 = time.perf_counter()
    await host.stop()
    loaded = sum(r.status == "loaded" for r in host.records)
    print(json.dumps({"import": (t1 - t0) * 1e3, "work": (t3 - t2) * 1e3, "loaded": loaded}))

asyncio.run(main())
"""

_BARE = """
import json, time
t0 = time.perf_counter()
from importlib.metadata import entry_points
import pluggy
from symphony.hookspecs import hooks
t1 = time.perf_counter()
import symphony.host._host  # untimed: the same modules in memory as in the host's process
t2 = time.perf_counter()
pm = pluggy.PluginManager("symphony")
pm.add_hookspecs(hooks)
for ep in entry_points(group="symphony.plugins"):
    pm.register(ep.load(), name=ep.name)
t3 = time.perf_counter()
print(json.dumps({"import": (t1 - t0) * 1e3, "work": (t3 - t2) * 1e3, "loaded": len(pm.get_plugins())}))
"""


def _measure(root: Path, size: int, repeats: int, pycache: Path) -> list[Record]:
    site = _sites.make_site(root, size)
    env = _sites.clean_env(root, site, pycache=pycache)
    cache = Path(env["SYMPHONY_CACHE_DIR"])
    cwd = _sites.empty_cwd(root)
    host_first = _sites.run_json(_HOST, env, cwd)  # builds the index cache and the bytecode caches
    bare_first = _sites.run_json(_BARE, env, cwd)
    if bare_first["loaded"] < size or host_first["loaded"] != bare_first["loaded"] + 1:  # + its essential plugin
        raise RuntimeError(f"expected {size}+ plugins: host loaded {host_first['loaded']}, bare {bare_first['loaded']}")
    cold, warm, bare, listing, python = [], [], [], [], []
    imports: list[float] = []
    bare_imports: list[float] = []
    plugins_list = [_sites.SYMPHONY, "plugins", "list", "--json"]
    for _ in range(repeats):
        shutil.rmtree(cache, ignore_errors=True)
        cold.append(_sites.run_json(_HOST, env, cwd)["work"])
        result = _sites.run_json(_HOST, env, cwd)
        warm.append(result["work"])
        imports.append(result["import"])
        result = _sites.run_json(_BARE, env, cwd)
        bare.append(result["work"])
        bare_imports.append(result["import"])
        listing.append(_sites.wall_ms(plugins_list, env, cwd))
        python.append(_sites.wall_ms([_sites.PYTHON, "-c", "pass"], env, cwd))
    med = _sites.median
    bare_name = f"bare entry_points+pluggy@{size}"
    return [
        record(f"startup.host@{size}", med(warm), "ms", bare_name, med(bare), seed_target=SEED_TARGET, goal=GOAL),
        record(f"startup.host_cold@{size}", med(cold), "ms", bare_name, med(bare), seed_target=SEED_TARGET),
        record(f"startup.plugins_list@{size}", med(listing), "ms", "python -c pass", med(python)),
        record(f"startup.host_import@{size}", med(imports), "ms", BARE_IMPORTS, med(bare_imports)),
    ]


def run(quick: bool) -> list[Record]:
    sizes = (0, 100, 1000)  # 1,000 stays within the quick budget (about 10 s)
    repeats = 3 if quick else 10
    records: list[Record] = []
    with _sites.work_dir() as root:
        for size in sizes:
            sized = root / f"n{size}"
            sized.mkdir()
            records += _measure(sized, size, repeats, root / "pycache")
    return records
