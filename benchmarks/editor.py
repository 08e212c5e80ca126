"""Editor-core benchmarks: ``editor_rtt`` (an edit's round trip over stdio) and ``editor_large`` (a 50 MB buffer).

``editor_rtt``: the real core (``python -m symphony.builtin_plugins.editor.core``)
with a view of 1,000 lines; each round trip writes one ``edit`` replace line and
reads the ``update`` notification and the response (quick 2,000, full 20,000, after
a warm-up); p50 and p99 in µs.  Baseline, in the same run: an echo child with the
same framing (this module run as ``python -m benchmarks.editor echo``) that decodes
each request with msgspec and writes it back as the result -- the floor of a
JSON-RPC round trip over two pipes.

``editor_large``: inside the core, in this process: ``Core.handle`` on request
lines, so JSON decoding, position conversion, the rope edit, the history and the
notification's encoding are all counted.  ``open``: ``new_view`` of a 50 MB file
(baseline: reading and decoding the file); ``insert``: one-character replaces at
the start, middle and end of that buffer, in turn (baseline: the same insert as
``str`` slicing, which copies the 50 MB).  The collector is off while timing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.editor.core.server import Core

__all__ = ["run_large", "run_rtt"]

ROOT = Path(__file__).resolve().parent.parent
_LINE = "def handler(request, response): return response.write(request.body)  # some code\n"
_SIZE = 50 * 1024 * 1024


def _edit(request_id: int, view_id: str, line: int, character: int, text: str = "x") -> bytes:
    position = {"line": line, "character": character}
    params = {"start": position, "end": position, "text": text}
    edit = {"view_id": view_id, "method": "replace", "params": params}
    return msgspec.json.encode({"id": request_id, "method": "edit", "params": edit}) + b"\n"


def _echo() -> None:
    """The baseline child: every request line back as a response line with the request as its result."""
    decode, encode = msgspec.json.decode, msgspec.json.encode
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    for line in iter(stdin.readline, b""):
        request: Any = decode(line)
        stdout.write(encode({"id": request["id"], "result": request}) + b"\n")
        stdout.flush()


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    path = os.environ.get("PYTHONPATH")
    env = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}
    return subprocess.Popen([sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)


def _round_trips(child: subprocess.Popen[bytes], requests: list[bytes], lines_each: int) -> list[float]:
    assert child.stdin is not None and child.stdout is not None
    write, flush, readline = child.stdin.write, child.stdin.flush, child.stdout.readline
    times: list[float] = []
    with no_gc():
        for request in requests:
            start = time.perf_counter_ns()
            write(request)
            flush()
            for _ in range(lines_each):
                readline()
            times.append((time.perf_counter_ns() - start) / 1000)
    return times


def _stop(child: subprocess.Popen[bytes]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=30)
    if child.stdout is not None:
        child.stdout.close()


def run_rtt(quick: bool) -> list[Record]:
    count = 2_000 if quick else 20_000
    core = _spawn("-m", "symphony.builtin_plugins.editor.core")
    echo = _spawn("-m", "benchmarks.editor", "echo")
    try:
        assert core.stdin is not None and core.stdout is not None
        opened = {"file_path": os.devnull + ".bench", "content": _LINE * 1000}
        core.stdin.write(msgspec.json.encode({"id": 0, "method": "new_view", "params": opened}) + b"\n")
        core.stdin.flush()
        view_id = msgspec.json.decode(core.stdout.readline())["result"]["view_id"]
        requests = [_edit(i + 1, view_id, (i * 7) % 1000, 10) for i in range(count + 200)]
        _round_trips(core, requests[:200], 2)
        _round_trips(echo, requests[:200], 1)
        edits = _round_trips(core, requests[200:], 2)
        echoes = _round_trips(echo, requests[200:], 1)
    finally:
        _stop(core)
        _stop(echo)
    edit_p50, echo_p50 = percentile(edits, 0.5), percentile(echoes, 0.5)
    baseline = "JSON-RPC echo child, same framing"
    return [
        record(
            "editor_rtt.edit_p50",
            edit_p50,
            "us",
            baseline,
            echo_p50,
            seed_target="< 1 ms",
            goal="<= 100 us p50, <= 1.3x echo",
        ),
        record("editor_rtt.edit_p99", percentile(edits, 0.99), "us", baseline + " (p99)", percentile(echoes, 0.99)),
    ]


def run_large(quick: bool) -> list[Record]:
    count = 2_000 if quick else 20_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.py"
        lines = _SIZE // len(_LINE)
        path.write_text(_LINE * lines)

        start = time.perf_counter()
        text = path.read_bytes().decode("utf-8")
        read_s = time.perf_counter() - start

        core = Core()
        request = msgspec.json.encode({"id": 1, "method": "new_view", "params": {"file_path": str(path)}}) + b"\n"
        with no_gc():
            start = time.perf_counter()
            reply = core.handle(request)
            open_s = time.perf_counter() - start
        view_id = msgspec.json.decode(reply.splitlines()[0])["result"]["view_id"]

    places = [(0, 0), (lines // 2, 17), (lines, 0)]
    requests = [_edit(i + 2, view_id, *places[i % 3]) for i in range(count)]
    handle = core.handle
    times: list[float] = []
    with no_gc():
        for line in requests:
            start_ns = time.perf_counter_ns()
            handle(line)
            times.append((time.perf_counter_ns() - start_ns) / 1000)

    offsets = [0, len(text) // 2, len(text)]
    slicing: list[float] = []
    with no_gc():
        for i in range(50 if quick else 200):
            at = offsets[i % 3]
            start_ns = time.perf_counter_ns()
            text = text[:at] + "x" + text[at:]
            slicing.append((time.perf_counter_ns() - start_ns) / 1000)
    return [
        record(
            "editor_large.insert_p50@50MB",
            percentile(times, 0.5),
            "us",
            "str slicing insert, 50 MB",
            percentile(slicing, 0.5),
            goal="<= 20 us per edit in the core",
        ),
        record("editor_large.insert_p99@50MB", percentile(times, 0.99), "us", "str slicing insert (p99)", max(slicing)),
        record(
            "editor_large.open@50MB", open_s * 1000, "ms", "read + decode the file", read_s * 1000, goal="<= 500 ms"
        ),
    ]


if __name__ == "__main__" and sys.argv[1:] == ["echo"]:
    _echo()
