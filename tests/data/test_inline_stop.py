"""The embedded service's inline writer leaves nothing running once the host has stopped.

After every few hundred inline commits the writer checkpoints SQLite's log in the loop's executor; ``host.stop``
must not return while that checkpoint may still open the database, or a caller removing its data folder right
after stop (a temp dir, a test) gets a "disk I/O error" or "unable to open database file" from a thread still at it.
A checkpoint still queued at stop is the deterministic case (the executor's one thread kept busy); one in flight
races stop, so the other two tests catch a regression most runs, not every run.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from symphony.builtin_plugins.data.service.inline import _CHECKPOINT_EVERY
from symphony.hookspecs.ports import DataAccessPort, NewRun, NodeCheckpoint
from symphony.host import Host, Settings

RUN = "run0001"
#: A node's outputs of a few pages, so that the log's checkpoint copies megabytes and takes a while (msgpack
#: ``{"out": "xxx…"}``): stop has to wait for it rather than finding it over already.
OUTPUTS = b"\x81\xa3out\xda\x40\x00" + b"x" * 0x4000


async def _saved_then_stopped(tmp_path: Path, before_last: Callable[[], None] = lambda: None) -> Path:
    """A host's data folder after exactly one checkpoint's worth of inline saves and ``host.stop``.

    The last save schedules the log's checkpoint, so stop comes while it is in flight or queued; ``before_last``
    runs just before that save.
    """
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    host = Host(settings).load()
    await host.start()
    try:
        port: DataAccessPort = host.port("data_access")
        await port.create_run(
            NewRun(id=RUN, workflow_id="hello", workflow_name="Hello", document=b"\x80", inputs=b"\x80", nodes_total=1)
        )
        for number in range(_CHECKPOINT_EVERY):
            if number == _CHECKPOINT_EVERY - 1:
                before_last()
            node = NodeCheckpoint(node_id=f"n{number}", state="succeeded", attempts=1, outputs=OUTPUTS)
            await port.save_nodes(RUN, [node])
    finally:
        await host.stop()
    return tmp_path / "data"


async def test_a_checkpoint_still_queued_at_stop_never_opens_the_removed_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="symphony.builtin_plugins.data")
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    busy = threading.Event()

    def occupy() -> None:  # the executor's only thread, from the last save until after stop: the checkpoint waits
        loop.run_in_executor(None, busy.wait)

    try:
        folder = await _saved_then_stopped(tmp_path, occupy)
        shutil.rmtree(folder)
    finally:
        busy.set()
    await loop.shutdown_default_executor()  # whatever the executor still had to run has ended
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []


async def test_removing_the_data_folder_right_after_stop_logs_no_checkpoint_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="symphony.builtin_plugins.data")
    folder = await _saved_then_stopped(tmp_path)
    shutil.rmtree(folder)
    await asyncio.get_running_loop().shutdown_default_executor()  # whatever the executor still ran has ended
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []


async def test_every_save_acknowledged_before_stop_is_in_a_copy_of_the_folder_taken_right_after(
    tmp_path: Path,
) -> None:
    folder = await _saved_then_stopped(tmp_path)
    copy = shutil.copytree(folder, tmp_path / "copy")
    shutil.rmtree(folder)
    with sqlite3.connect(copy / "data" / "service.db") as connection:
        assert connection.execute("pragma integrity_check").fetchone() == ("ok",)
        saved = connection.execute("select count(*) from run_nodes").fetchone()[0]
    assert saved == _CHECKPOINT_EVERY
