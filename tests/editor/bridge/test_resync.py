"""The Binary Sync Coordinator: a core that dies or hangs is restarted and resynced, losing no edit."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from symphony.builtin_plugins.editor.bridge.port import CoreEditing
from symphony.hookspecs import RetryPolicy, TransportError

from .support import Recorder, eventually, insert

EDITS = 200
ACKNOWLEDGED = 50


def kill(editing: CoreEditing) -> int:
    pid = editing.core.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    return pid


async def restarted(editing: CoreEditing, times: int = 1) -> None:
    await eventually(lambda: editing.core.restarts == times and editing.core.state == "running", "the core restarted")


async def test_sigkill_mid_edit_loses_no_acknowledged_edit_and_applies_each_edit_in_flight_once(
    editing: CoreEditing, source: Path
) -> None:
    buffer = await editing.open_file(source)
    seen: list[int] = []
    editing.subscribe(buffer, lambda change: seen.append(change.revision))

    def one(i: int) -> Coroutine[Any, Any, int]:
        return editing.edit_text(buffer, insert(0, 0, f"<{i}>"), client="typist")

    acknowledged = [await one(i) for i in range(ACKNOWLEDGED)]
    pid = editing.core.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # the core reads no more: what is sent now stays in flight
    in_flight = [asyncio.ensure_future(one(i)) for i in range(ACKNOWLEDGED, EDITS)]
    await asyncio.sleep(0.1)
    assert not any(task.done() for task in in_flight)
    os.kill(pid, signal.SIGKILL)
    revisions = acknowledged + await asyncio.gather(*in_flight)

    assert editing.core.restarts == 1 and editing.core.pid != pid
    assert revisions == list(range(1, EDITS + 1))  # each applied once, in the order sent
    assert seen == list(range(1, EDITS + 1))  # subscribers saw every revision once, in order
    expected = "".join(f"<{i}>" for i in reversed(range(EDITS))) + source.read_text(encoding="utf-8")
    assert await editing.get_buffer_content(buffer) == expected


#: A stand-in core that reports the first edit (its ``update``) and dies before answering it; started
#: again (the marker file exists), it is the real core.
_DIES_AFTER_UPDATE = """
import json, os, sys
if os.path.exists(sys.argv[1]):
    os.execv(sys.executable, [sys.executable, "-m", "symphony.builtin_plugins.editor.core"])
open(sys.argv[1], "w").close()
for line in sys.stdin:
    message = json.loads(line)
    if message["method"] == "new_view":
        view = {"view_id": "v1", "revision": 0, "dirty": False, "disk_mtime_ns": None, "disk_size": None,
                "lines": 1, "length_utf16": 0}
        print(json.dumps({"id": message["id"], "result": view}), flush=True)
    elif message["method"] == "edit":
        update = {"view_id": "v1", "revision": 1, "edits": [message["params"]["params"]], "dirty": True}
        print(json.dumps({"method": "update", "params": update}), flush=True)
        os._exit(1)
"""


async def test_an_edit_the_core_reported_before_dying_unanswered_is_not_sent_again(tmp_path: Path) -> None:
    stand_in = [sys.executable, "-c", _DIES_AFTER_UPDATE, str(tmp_path / "started")]
    editing = CoreEditing(argv=stand_in, spare=False)  # a spare would start as a second stand-in
    try:
        buffer = await editing.open_file(tmp_path / "new.txt")
        assert await editing.edit_text(buffer, insert(0, 0, "once")) == 1
        await restarted(editing)
        assert await editing.get_buffer_content(buffer) == "once"
        assert "exited with status 1" in (editing.core.last_failure or "")
    finally:
        await editing.stop()


async def test_unsaved_edits_revision_and_dirty_state_survive_a_restart(editing: CoreEditing, source: Path) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "saved "))
    await editing.save_buffer(buffer)
    await editing.edit_text(buffer, insert(1, 0, "unsaved "))
    before = await editing.get_buffer_content(buffer)
    kill(editing)
    await restarted(editing)
    assert await editing.get_buffer_content(buffer) == before
    (info,) = await editing.list_buffers()
    assert info.dirty and info.version == 2
    assert await editing.edit_text(buffer, insert(0, 0, "after ")) == 3


async def test_after_a_restart_a_save_still_refuses_to_overwrite_a_file_changed_on_disk(
    editing: CoreEditing, source: Path
) -> None:
    buffer = await editing.open_file(source)
    await editing.edit_text(buffer, insert(0, 0, "mine "))
    kill(editing)
    await restarted(editing)
    source.write_text("theirs\n", encoding="utf-8")
    os.utime(source, ns=(1, 1))
    with pytest.raises(Exception, match="changed on disk"):
        await editing.save_buffer(buffer)
    assert source.read_text(encoding="utf-8") == "theirs\n"


async def test_a_file_the_core_read_itself_resyncs_to_the_same_text(editing: CoreEditing, tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_text("written 😀 long ago\n" * 100, encoding="utf-8")
    an_hour_ago = path.stat().st_mtime_ns - 3600 * 10**9
    os.utime(path, ns=(an_hour_ago, an_hour_ago))  # not written lately: the core's own read is trusted
    buffer = await editing.open_file(path)
    await editing.edit_text(buffer, insert(50, 8, "✓ "))
    before = await editing.get_buffer_content(buffer)
    kill(editing)
    await restarted(editing)
    assert await editing.get_buffer_content(buffer) == before
    assert before.splitlines()[50] == "written ✓ 😀 long ago"


async def test_every_open_buffer_is_resynced(editing: CoreEditing, tmp_path: Path) -> None:
    buffers = []
    for n in range(3):
        path = tmp_path / f"file{n}.txt"
        path.write_text(f"file {n}\n", encoding="utf-8")
        buffer = await editing.open_file(path)
        await editing.edit_text(buffer, insert(0, 0, f"edited {n}: "))
        buffers.append(buffer)
    kill(editing)
    await restarted(editing)
    assert [await editing.get_buffer_content(b) for b in buffers] == [f"edited {n}: file {n}\n" for n in range(3)]


async def test_a_restart_is_announced_and_shows_in_health(editing: CoreEditing, source: Path, events: Recorder) -> None:
    await editing.open_file(source)
    first = kill(editing)
    await restarted(editing)
    restarting = events.data("editor.core.restarting")
    assert len(restarting) == 1 and f"pid {first}) was killed by SIGKILL" in restarting[0]["reason"]
    assert events.topics()[-1] == "editor.core.running"
    health = editing.core.health()
    assert health.status == "ok" and health.details["restarts"] == 1 and health.details["pid"] != first


async def test_a_hung_core_is_killed_by_the_heartbeat_and_restarted(source: Path) -> None:
    editing = CoreEditing(heartbeat_interval=0.1, heartbeat_timeout=0.2, missed_heartbeats=2)
    try:
        buffer = await editing.open_file(source)
        await editing.edit_text(buffer, insert(0, 0, "before "))
        pid = editing.core.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        assert await editing.edit_text(buffer, insert(0, 0, "during ")) == 2  # waits for the new core
        assert editing.core.restarts == 1 and "stopped answering heartbeats" in (editing.core.last_failure or "")
        assert (await editing.get_buffer_content(buffer)).startswith("during before roses")
    finally:
        await editing.stop()


async def test_a_core_that_keeps_dying_is_given_up_saying_why(source: Path, events: Recorder) -> None:
    quick = RetryPolicy(max_attempts=2, backoff_initial=0.01, backoff_multiplier=2.0, backoff_max=0.1)
    editing = CoreEditing(events, argv=[sys.executable, "-c", "import sys; sys.exit(3)"], restart=quick)
    try:
        with pytest.raises(TransportError, match=r"gave up after 2 restart.*exited with status 3"):
            await editing.open_file(source)
        health = editing.core.health()
        assert health.status == "failed" and "exited with status 3" in health.message
        assert events.topics().count("editor.core.restarting") == 2 and events.topics()[-1] == "editor.core.failed"
    finally:
        await editing.stop()
