"""``symphony --version``, ``symphony plugins list`` and a plugin command as processes, against ``python -c pass``.

Wall time, median of the runs, with the entry-point index and the validated settings
already cached. ``cli.registry_status`` is a command a plugin contributes: every plugin's
``symphony_register_commands`` runs for it (no index is configured, so it only reads settings).
``cli.<command>.overhead`` is the median minus the ``python -c pass`` median.
``cli.plugins_list_settings_changed`` changes a ``SYMPHONY_*`` variable before every run, so
that the settings are validated again, as after any edit of them (by the settings' msgspec
mirror, without pydantic, for the usual forms of values).
"""

from __future__ import annotations

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
        samples: dict[str, list[float]] = {name: [] for name in (*argvs, "plugins_list_settings_changed")}
        for run_number in range(repeats):
            for name, argv in argvs.items():
                samples[name].append(_sites.wall_ms(argv, env, cwd))
            changed = env | {"SYMPHONY_HOOKS__TIMEOUT": str(31 + run_number)}  # never the snapshot's stamp
            samples["plugins_list_settings_changed"].append(_sites.wall_ms(argvs["plugins_list"], changed, cwd))
    ms = {name: _sites.median(values) for name, values in samples.items()}
    base = ms["python"]
    records: list[Record] = []
    for name in (*COMMANDS, "plugins_list_settings_changed"):
        records += [
            record(f"cli.{name}", ms[name], "ms", "python -c pass", base, goal=GOAL),
            record(f"cli.{name}.overhead", ms[name] - base, "ms", "python -c pass", base, goal=OVERHEAD_GOAL),
        ]
    return records
