"""Every command loads every plugin: what loading imports is paid by all of them (issue 18: <= 100 ms).

A plugin module imports its heavy machinery where it is used (a port's factory,
a command, a hook body), never at the top; these tests hold that in fresh processes.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy
import pytest

from symphony.hookspecs import PROJECT_NAME, hooks
from symphony.host._plugins import PluginManager

if TYPE_CHECKING:
    from tests.conftest import Symphony

#: Libraries that cost tens of milliseconds to import and that only some commands need.
HEAVY = (
    "pydantic",
    "pydantic_settings",
    "packaging",
    "rich",
    "sqlalchemy",
    "tantivy",
    "pyfastcdc",
    "cryptography",
    "wasmtime",
    "numpy",
    "rustworkx",
    "httpx",
    "nats",
    "zmq",
)
SYMPHONY = Path(sys.executable).parent / "symphony"
_BUILTIN_DISTRIBUTIONS = {"symphony-builtins", "symphony-host", "symphony-sandbox", "symphony-registry"}
BUILTIN_PLUGINS = sorted(
    (ep.name, ep.value)
    for ep in entry_points(group="symphony.plugins")
    if ep.dist is not None and ep.dist.metadata["Name"] in _BUILTIN_DISTRIBUTIONS
)

_PROBE = """
import importlib, json, sys
{setup}
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] in sys.argv[1:] or m in sys.argv[1:])))
"""


def imported(run: Callable[[str], subprocess.CompletedProcess[str]], setup: str) -> list[str]:
    """The watched modules (``run`` passes their names as arguments) that ``setup`` imported."""
    done = run(_PROBE.format(setup=setup))
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize(("name", "module"), BUILTIN_PLUGINS, ids=[name for name, _ in BUILTIN_PLUGINS])
def test_importing_a_builtin_plugin_module_imports_no_heavy_library(name: str, module: str) -> None:
    def run(code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code, *HEAVY], capture_output=True, text=True, check=False)

    assert imported(run, f"importlib.import_module({module!r})") == [], f"plugin {name!r}"


#: The host's and the IPC plugins' own machinery, needed only once a port or a command is used.
LAZY_MODULES = (
    "symphony.host._settings",
    "symphony.host.extensions._catalogue",
    "symphony.host.extensions._check",
    "symphony.host.extensions._index",
    "symphony.builtin_plugins.ipc.bus.bus",
    "symphony.builtin_plugins.ipc.bus.server",
    "symphony.builtin_plugins.ipc.cli",
    "symphony.builtin_plugins.ipc.transports.shm",
    "symphony.builtin_plugins.ipc.transports.unix",
    "symphony.builtin_plugins.ipc.transports.tcp",
)


def test_loading_the_host_again_imports_neither_heavy_libraries_nor_unused_machinery(
    symphony: Callable[..., Symphony],
) -> None:
    """What ``symphony plugins list`` does, from the second run on (the first one saves the validated settings)."""
    runner = symphony()
    watched = (*HEAVY, *LAZY_MODULES)

    def run(code: str) -> subprocess.CompletedProcess[str]:
        return runner.python(code, *watched)

    setup = "from symphony.host import Host; Host().load()"
    imported(run, setup)
    assert imported(run, setup) == []


def test_loading_the_host_machinery_imports_no_asyncio() -> None:
    """A command that only lists or reads pays for no event loop (plugin modules must not import it either)."""
    code = "import sys, symphony.host._host, symphony.host.cli; print('asyncio' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_symphony_plugins_list_imports_no_heavy_library_once_settings_are_saved(
    symphony: Callable[..., Symphony],
) -> None:
    """The real command (``--json``: a table is printed by rich), its imports read from ``python -X importtime``."""
    runner = symphony()
    assert runner.run("plugins", "list", "--json").returncode == 0  # saves the validated settings
    command = [sys.executable, "-X", "importtime", str(SYMPHONY), "plugins", "list", "--json"]
    listed = subprocess.run(command, env=runner.env(), cwd=runner.home, capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr[-2000:]
    modules = {line.rpartition("|")[2].strip() for line in listed.stderr.splitlines() if line.startswith("import time")}
    assert "symphony.host._host" in modules  # the host was loaded...
    assert sorted(m for m in modules if m.partition(".")[0] in HEAVY) == []  # ...and nothing heavy with it


#: Standard-library modules and plugin machinery that only some commands use (a health check, an operator,
#: a workflow's validation), each a millisecond or more of every command when imported at the top.
NOT_FOR_LISTING = (
    "hashlib",  # loads OpenSSL
    "sqlite3",
    "json",
    "ctypes",
    "importlib.metadata",
    "symphony.builtin_plugins.pit.dag.nodes",
    "symphony.builtin_plugins.workflow.conditions",
)


def test_symphony_plugins_list_imports_none_of_what_only_other_commands_use(
    symphony: Callable[..., Symphony],
) -> None:
    """The listing itself (not ``--json``) once settings are saved, its imports read from ``python -X importtime``."""
    runner = symphony()
    assert runner.run("plugins", "list").returncode == 0  # saves the validated settings
    command = [sys.executable, "-X", "importtime", str(SYMPHONY), "plugins", "list"]
    listed = subprocess.run(command, env=runner.env(), cwd=runner.home, capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr[-2000:]
    modules = {line.rpartition("|")[2].strip() for line in listed.stderr.splitlines() if line.startswith("import time")}
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines() if line.strip()}
    assert all("loaded" in rows[name] for name in ("dag", "operators", "sandbox"))  # the plugins were imported...
    assert sorted(modules & set(NOT_FOR_LISTING)) == []  # ...without these


_FREEZE_PROBE = """
import atexit, gc, sys
def report(when):
    atexit.register(lambda: print(when, "frozen" if gc.get_freeze_count() else "not frozen"))
report("last:")  # registered before main, so it runs after main's exit hook
sys.argv = ["symphony", "--version"]
{call}
report("first:")  # as a command's own exit hook (a wasm runtime's close): runs before main's
"""


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            "from symphony.host.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
            ["first: not frozen", "last: frozen"],
        ),
        (
            "import symphony.host.cli as cli\ntry:\n    cli.main()\nexcept SystemExit:\n    pass",
            ["first: not frozen", "last: not frozen"],
        ),
    ],
    ids=["the-program", "a-caller-that-goes-on"],
)
def test_main_freezes_what_is_alive_only_after_every_other_exit_hook_of_the_program(
    call: str, expected: list[str]
) -> None:
    """Shutdown's collections are spared only to the program ``main`` is (the console script, ``python -c``).

    Frozen objects are never collected again: the command's own exit hooks still find an
    ordinary collector, and a caller that goes on after ``main`` (a test) keeps one.
    """
    code = _FREEZE_PROBE.format(call=call)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-2:] == expected


def test_loading_the_host_machinery_imports_no_importlib_metadata() -> None:
    """Plugins are loaded from the index by import_module: importlib.metadata (email, zipfile, csv) costs ~12 ms."""
    code = "import sys, symphony.host._host, symphony.host.cli._app; print('importlib.metadata' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(("name", "module"), BUILTIN_PLUGINS, ids=[name for name, _ in BUILTIN_PLUGINS])
def test_the_hosts_plugin_manager_finds_in_a_plugin_module_exactly_the_implementations_pluggy_finds(
    name: str, module: str
) -> None:
    """Registering passes over a module's non-function names itself (~2 ms of every command), finding the same."""
    plugin = importlib.import_module(module)
    found = []
    for manager in (pluggy.PluginManager(PROJECT_NAME), PluginManager(PROJECT_NAME)):
        manager.add_hookspecs(hooks)
        manager.register(plugin, name=name)
        found.append(sorted((impl.function.__qualname__, caller.name) for caller, impl in _impls(manager)))
    assert found[0] == found[1] != []


def _impls(manager: pluggy.PluginManager) -> list[tuple[pluggy.HookCaller, pluggy.HookImpl]]:
    return [(caller, impl) for caller in vars(manager.hook).values() for impl in caller.get_hookimpls()]


#: Plugin commands whose ``--help`` must not import what other plugins' commands need, with what they need themselves.
PLUGIN_COMMAND_HELP = {
    "--help": (),
    "workflow --help": (),
    "registry status --help": (),
}


@pytest.mark.parametrize("command", PLUGIN_COMMAND_HELP)
def test_a_plugin_commands_help_imports_no_other_commands_heavy_library(
    symphony: Callable[..., Symphony], command: str
) -> None:
    """Every plugin command line collects every plugin's commands: they are registered lazily (issue 18)."""
    runner = symphony()
    assert runner.run("plugins", "list", "--json").returncode == 0  # saves the validated settings
    argv = [sys.executable, "-X", "importtime", str(SYMPHONY), *command.split()]
    done = subprocess.run(argv, env=runner.env(), cwd=runner.home, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.rpartition("|")[2].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert "symphony.host._host" in modules  # the host was loaded and every plugin's commands collected...
    heavy = {m.partition(".")[0] for m in modules} & {*HEAVY, "asyncio"}
    assert sorted(heavy - set(PLUGIN_COMMAND_HELP[command])) == []  # ...without importing them


def test_every_builtin_plugin_command_lists_the_help_of_the_command_it_stands_for(
    symphony: Callable[..., Symphony],
) -> None:
    """The help given up front to ``lazy_command`` is what the command says of itself once imported."""
    code = (
        "from symphony.host import Host\n"
        "from symphony.host.cli._app import _collect\n"
        "from symphony.hookspecs.commands import LazyCommand\n"
        "host = Host(); host.load()\n"
        "for name, command in sorted(_collect(host).items()):\n"
        "    if isinstance(command, LazyCommand):\n"
        "        given, real = command.get_short_help_str(1000), command.load().get_short_help_str(1000)\n"
        "        print(name, 'ok' if given == real else f'lists {given!r} but says {real!r}')\n"
    )
    done = symphony().python(code)
    assert done.returncode == 0, done.stderr[-2000:]
    listed = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert {"run", "runs", "workflow", "artifacts", "stale"} <= set(listed)
    assert {name: verdict for name, verdict in listed.items() if verdict != "ok"} == {}
