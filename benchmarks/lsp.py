"""``lsp``: what the language port adds to a language server's own answer time.

A 500-line Python buffer is open in the ``text_editing`` port and in a warm
jedi-language-server.  Records (p50 of the calls):

- ``lsp.completion@500lines``: ``completions()`` through the port (it reads the
  buffer's revision and text to check the position and count it for the
  server, then asks), against the same ``textDocument/completion`` sent straight
  over the client's connection to the same server.
- ``lsp.hover@500lines``: ``hover()`` likewise, against the raw request.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.run import Record, record
from symphony.builtin_plugins.lsp.service import Languages
from symphony.hookspecs.ports import Position
from symphony.host import Host, Settings

__all__ = ["run"]

_BODY = "def f{n}(values: list[int]) -> int:\n    return sum(v * {n} for v in values)  # 漢字 ✓\n\n"


async def _p50s(
    port: Callable[[], Awaitable[Any]], raw: Callable[[], Awaitable[Any]], repeat: int
) -> tuple[float, float]:
    """Median milliseconds of each, the two calls alternating so a busy machine's drift hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for call, into in ((port, times[0]), (raw, times[1])):
            start = time.perf_counter()
            await call()
            into.append(time.perf_counter() - start)
    return statistics.median(times[0]) * 1000, statistics.median(times[1]) * 1000


async def _measure(root: Path, repeat: int) -> list[Record]:
    text = "import os\n" + "".join(_BODY.format(n=n) for n in range(166)) + "os.pa"
    path = root / "bench.py"
    path.write_text(text, encoding="utf-8")
    last = text.count("\n")
    cursor = Position(line=last, character=5)
    hover_at = Position(line=last, character=1)
    async with Host(Settings(data_dir=root / "data", cache_dir=root / "cache"), discover_plugins=True) as host:
        buffer_id = await host.port("text_editing").open_file(path)
        language = host.port("language")
        assert isinstance(language, Languages)
        await language.diagnostics(buffer_id)  # started, initialized, open
        (server,) = language.servers
        connection = server.current
        assert connection is not None
        document = {"textDocument": {"uri": path.as_uri()}}

        def raw(method: str, position: Position) -> Callable[[], Awaitable[Any]]:
            params = {**document, "position": {"line": position.line, "character": position.character}}
            return lambda: connection.request(method, params, timeout=30)

        for _ in range(3):  # jedi caches the module on the first calls
            await language.completions(buffer_id, cursor)
            await language.hover(buffer_id, hover_at)
        completion, completion_raw = await _p50s(
            lambda: language.completions(buffer_id, cursor), raw("textDocument/completion", cursor), repeat
        )
        hover, hover_raw = await _p50s(
            lambda: language.hover(buffer_id, hover_at), raw("textDocument/hover", hover_at), repeat
        )
    return [
        record("lsp.completion@500lines", completion, "ms", "the raw request to the same server", completion_raw),
        record("lsp.hover@500lines", hover, "ms", "the raw request to the same server", hover_raw),
    ]


def run(quick: bool) -> list[Record]:
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(_measure(Path(folder), 10 if quick else 50))
