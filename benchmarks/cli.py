"""``symphony --version``, ``symphony plugins list`` and a plugin command as processes, against ``python -c pass``.

Wall time, median of the runs, with the entry-point index and the validated settings
already cached. ``cli.registry_status`` is a command a plugin contributes: every plugin's
``symphony_register_commands`` runs for it (no index is configured, so it only reads settings).
``cli.<command>.overhead`` is the median minus the ``python -c pass`` median.
``cli.plugins_list_settings_changed`` changes a ``SYMPHONY_*`` variable before every run, so
that the settings are validated again, as after any edit of them (by the settings' msgspec
mirror, without pydantic, for the usual forms of values).

``cli.<command>.overhead_cpu`` is the same difference in CPU time (user + system, read from
``getrusage`` of the finished child): what the command itself costs, which a busy machine
(a CI runner sharing its cores) inflates far less than the wall time it waits for a core.
"""

from __future__ import annotations

import resource
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmarks import _sites
from benchmarks.run import Record, record

__all__ = ["run"]

GOAL = "at most 100 ms above python -c pass"
OVERHEAD_GOAL = "<= +100 ms over python -c pass (every command that reads settings)"
COMMANDS = {"version": ["--version"], "plugins_list": ["plugins", "list"], "registry_status": ["registry", "status"]}


def run(quick: bool) -> list[Record]:
    repeats = 5 if quick else 20
    with _sites.work_dir() as root:
        env = _sites.clean_env(root)
        cwd = _sites.empty_cwd(root)
        argvs = {"python": [_sites.PYTHON, "-c", "pass"]}
        argvs |= {name: [_sites.SYMPHONY, *args] for name, args in COMMANDS.items()}
        for argv in argvs.values():  # warm the index and bytecode caches
            _sites.wall_ms(argv, env, cwd)
        names = (*argvs, "plugins_list_settings_changed")
        wall: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for run_number in range(repeats):
            for name, argv in argvs.items():
                _timed(argv, env, cwd, wall[name], cpu[name])
            changed = env | {"SYMPHONY_HOOKS__TIMEOUT": str(31 + run_number)}  # never the snapshot's stamp
            name = "plugins_list_settings_changed"
            _timed(argvs["plugins_list"], changed, cwd, wall[name], cpu[name])
    ms = {name: _sites.median(values) for name, values in wall.items()}
    cpu_ms = {name: _sites.median(values) for name, values in cpu.items()}
    base, cpu_base = ms["python"], cpu_ms["python"]
    records: list[Record] = []
    for name in names[1:]:
        records += [
            record(f"cli.{name}", ms[name], "ms", "python -c pass", base, goal=GOAL),
            record(f"cli.{name}.overhead", ms[name] - base, "ms", "python -c pass", base, goal=OVERHEAD_GOAL),
            record(f"cli.{name}.overhead_cpu", cpu_ms[name] - cpu_base, "ms", "python -c pass, CPU", cpu_base),
        ]
    return records


def _timed(argv: Sequence[str], env: Mapping[str, str], cwd: Path, wall: list[float], cpu: list[float]) -> None:
    """Run one process; append its wall time and its CPU time (user + system), in milliseconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall.append(_sites.wall_ms(argv, env, cwd))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3)
