"""``soak_sandbox``: many invocations of a confined extension with a crash every 500, and nothing leaks.

Two installed extensions, each driven through the host's ``extension_runtime`` port
(the ExtensionPort, as ``symphony ext invoke`` uses it) in a fresh host process whose
HOME, XDG directories and TMPDIR are a private temporary directory:

- ``ext-hostile`` (tests/distributions/ext-hostile), a confined subprocess worker:
  ``environ`` on every call, ``crash`` (``os.abort()``) on every 500th;
- ``sample-wasm-core`` (sample_extensions/), a Wasmtime core module: ``stats`` on
  every call, and on every 500th an input larger than its 16 MiB memory budget, so its
  allocator traps.

Full: 10,000 invocations each; ``--quick``: 1,000 (two crashes each).  Each crash must
raise ExtensionCrashedError and the next call must get a fresh sandbox.  Counted in the
host process once its sandbox is warm (after one crash and recovery) and again after the
last call: child processes, open file descriptors, threads (but the default executor's,
which grows on demand to its bound), temporary files under its TMPDIR, and entries in
/dev/shm that appeared and stayed (the machine may be shared, so the
/dev/shm figure is an upper bound).  Records: per-call p50 and p99 against the first
call's duration, each count after against before (goal: equal), and the host process's
children, temporary files and /dev/shm entries once the host stopped against once it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Final

from benchmarks.run import Record, record

__all__ = ["run"]

REPO: Final = Path(__file__).resolve().parents[1]
CRASH_EVERY: Final = 500
#: name -> (distribution to fake, package, its source directory)
EXTENSIONS: Final = {
    "ext-hostile": ("symphony_soak_hostile", REPO / "tests/distributions/ext-hostile/src/symphony_test_hostile"),
    "sample-wasm-core": (
        "symphony_soak_wasm_core",
        REPO / "sample_extensions/symphony-sample-wasm-core/src/symphony_sample_wasm_core",
    ),
}
#: name -> (operation, input) of a normal call and of a crashing one
CALLS: Final[dict[str, tuple[dict[str, Any], dict[str, Any]]]] = {
    "ext-hostile": ({"operation": "environ", "input": {}}, {"operation": "crash", "input": {}}),
    "sample-wasm-core": (
        {"operation": "stats", "input": {"text": "one\ntwo\n"}},
        {"operation": "stats", "input": {"text": "x" * (17 * 2**20)}},
    ),
}


def _site(root: Path) -> Path:
    """A site directory holding both extensions as installed distributions (entry points, no pip)."""
    site = root / "site"
    for name, (distribution, source) in EXTENSIONS.items():
        shutil.copytree(source, site / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        info = site / f"{distribution}-0.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.0.0\n")
        (info / "entry_points.txt").write_text(f"[symphony.extensions]\n{name} = {source.name}\n")
        (info / "RECORD").write_text("")
    return site


def _environment(root: Path, site: Path) -> dict[str, str]:
    home = root / "home"
    tmp = root / "tmp"
    tmp.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SYMPHONY_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        TMPDIR=str(tmp),
        PYTHONPATH=os.pathsep.join([str(site), str(REPO)]),
    )
    return env


def _census(tmp: Path, shm_before: set[str]) -> dict[str, int]:
    """What this host process holds now: children, fds, threads, files under TMPDIR, new /dev/shm entries."""
    import psutil

    me = psutil.Process()
    shm = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    return {
        # The process's one zygote is shared by its hosts and outlives a stopped one by design
        # (docs/sandbox-subprocess.md, "The zygote"); its workers, forked per extension, count.
        "processes": sum(not _is_zygote(child, me.pid) for child in me.children(recursive=True)),
        "fds": me.num_fds(),
        # asyncio's default executor adds workers on demand up to its bound; a leak is any other thread.
        "threads": me.num_threads() - sum(t.name.startswith("asyncio_") for t in threading.enumerate()),
        "temp_files": sum(len(dirs) + len(files) for _, dirs, files in os.walk(tmp)),
        "shm": len(shm - shm_before),
    }


def _is_zygote(process: Any, host_pid: int) -> bool:
    """The host's own child running zygote.py (its forked workers keep that argv but are its children)."""
    import psutil

    try:
        return process.ppid() == host_pid and any(part.endswith("subprocess/zygote.py") for part in process.cmdline())
    except psutil.Error:
        return False


async def _soak_one(runtime: Any, name: str, count: int, tmp: Path, shm_before: set[str]) -> dict[str, Any]:
    """Warm up, count, invoke ``count`` times with a crash at the middle of every 500, count again."""
    from symphony.hookspecs.runtimes import ExtensionCrashedError

    normal, crash = CALLS[name]
    extension = await runtime.load_extension(name)
    started = time.perf_counter()
    await runtime.invoke_extension(extension, normal)
    first = time.perf_counter() - started
    for warm in range(41):  # one crash and recovery first: pools that grow on demand reach their size
        if warm == 20:
            with contextlib.suppress(ExtensionCrashedError):
                await runtime.invoke_extension(extension, crash)
        else:
            await runtime.invoke_extension(extension, normal)
    before = _census(tmp, shm_before)
    samples: list[float] = []
    crashes = 0
    for i in range(1, count + 1):
        if i % CRASH_EVERY == CRASH_EVERY // 2:
            try:
                await runtime.invoke_extension(extension, crash)
            except ExtensionCrashedError:
                crashes += 1
            continue
        started = time.perf_counter()
        await runtime.invoke_extension(extension, normal)
        samples.append(time.perf_counter() - started)
    after = _census(tmp, shm_before)
    await runtime.unload_extension(extension)
    samples.sort()
    return {
        "first": first,
        "p50": samples[len(samples) // 2],
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "crashes": crashes,
        "before": before,
        "after": after,
    }


async def _drive(count: int) -> dict[str, Any]:
    """In a fresh host process: soak each extension through the ExtensionPort, then count once the host stopped."""
    from symphony.host import Host

    tmp = Path(tempfile.gettempdir())
    shm_before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
    result: dict[str, Any] = {}
    host = Host()
    host.load()
    async with host:
        started = _census(tmp, shm_before)
        runtime = host.port("extension_runtime")
        for name in CALLS:
            result[name] = await _soak_one(runtime, name, count, tmp, shm_before)
    result["started"], result["stopped"] = started, _census(tmp, shm_before)
    return result


def _soak(env: dict[str, str], count: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.soak_sandbox", str(count)]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"the soak's host process failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    for name in CALLS:
        crashes = result[name]["crashes"]
        assert crashes == count // CRASH_EVERY, f"{name}: {crashes} of {count // CRASH_EVERY} crash calls failed"
    return result


def run(quick: bool) -> list[Record]:
    count = 1_000 if quick else 10_000
    crashes = count // CRASH_EVERY
    goal = f"equal: no leak over {crashes} crashes" + (" (quick: 1,000 calls; full: 10,000)" if quick else "")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = _environment(root, _site(root))
        grant = "from symphony.host.cli import main; main(['ext', 'grant', 'ext-hostile', 'file:write:data'])"
        subprocess.run([sys.executable, "-c", grant], env=env, check=False, capture_output=True)
        soak = _soak(env, count)
    records: list[Record] = []
    size = f"@{count}"
    for name, runtime in (("ext-hostile", "subprocess"), ("sample-wasm-core", "wasm")):
        one = soak[name]
        base = f"soak_sandbox.{runtime}"
        for label in ("p50", "p99"):
            records.append(
                record(
                    f"{base}.invoke_{label}{size}",
                    one[label] * 1e6,
                    "us",
                    "first call (sandbox start included)",
                    one["first"] * 1e6,
                )
            )
        for what in ("processes", "fds", "threads", "temp_files", "shm"):
            records.append(
                record(
                    f"{base}.{what}_after{size}",
                    one["after"][what],
                    "count",
                    f"{what} once warm, before the soak",
                    one["before"][what],
                    goal=goal,
                )
            )
    for what in ("processes", "temp_files", "shm"):
        records.append(
            record(
                f"soak_sandbox.{what}_host_stopped{size}",
                soak["stopped"][what],
                "count",
                f"{what} once the host started, before any extension",
                soak["started"][what],
                goal="equal: a stopped host leaves no sandbox behind (the shared zygote aside)",
            )
        )
    return records


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_drive(int(sys.argv[1])))))
