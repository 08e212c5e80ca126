"""`symphony run` on a terminal: the live progress bar still names the run, so it can be resumed or shown later."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .test_kill_resume import SYMPHONY, _node, _write

if TYPE_CHECKING:
    from tests.conftest import Symphony

pytestmark = pytest.mark.slow


def _on_a_terminal(runner: Symphony, *args: str) -> str:
    """Run ``symphony ARGS`` with a pseudo-terminal as its output; everything it wrote."""
    runner.home.mkdir(parents=True, exist_ok=True)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(SYMPHONY), *args], cwd=runner.home, env=runner.env(), stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the command closed the terminal's last writer
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(60) == 0, b"".join(chunks).decode(errors="replace")
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return b"".join(chunks).decode(errors="replace")


def test_the_progress_bar_shows_the_run_id_when_the_run_starts(
    symphony: Callable[..., Symphony], test_site: Path, tmp_path: Path
) -> None:
    flow = _write(tmp_path / "flow.toml", _node("a", tmp_path / "log"), {"out": "a.value"})
    runner = symphony(test_site)

    shown = _on_a_terminal(runner, "run", str(flow), "--input", "x=1")

    (listed,) = runner.json("runs", "list")
    assert re.search(rf"run {listed['run_id']} started \(1 nodes\)", shown), shown
