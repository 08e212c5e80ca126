"""The console as users start it: ``symphony ui --no-open`` as a real subprocess on a temporary project.

- ``console`` (function): a :class:`Console` serving a fresh project (its own data and cache
  directories) holding ``welcome.toml`` (examples/) and ``gated.toml``: three test operators in a
  chain whose first node waits until :meth:`Console.release` is called (no timing involved), so a
  test sees a run live, cancels it, or lets it finish.  ``login_link`` is the printed one-time link.
  Stopped (SIGTERM, then killed) after the test.
- ``ops_site``: the DAG tests' operators (tests/dag/ops.py) as an installed plugin, on the console's path.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from tests.conductor.conftest import EXAMPLES, ops_site
from tests.conftest import SYMPHONY, Symphony
from tests.serving import killed

__all__ = ["Console", "console", "killed", "ops_site"]

#: Seconds the console gets to start or stop: generous, the other core may be busy.
DEADLINE: Final = 60.0
PREFIX: Final = "Symphony console: "

GATED = """\
schema_version = 1
id = "gated"
name = "Gated chain"

[outputs]
last = "third.value"

[nodes.first]
kind = "operator"
uses = "test-record"
config = {{ name = "first", wait_for = "{release}" }}

[nodes.second]
kind = "operator"
uses = "test-record"
config = {{ name = "second" }}

[nodes.third]
kind = "operator"
uses = "test-record"
config = {{ name = "third" }}

[[edges]]
kind = "data"
from = "first.value"
to = "second.value"

[[edges]]
kind = "data"
from = "second.value"
to = "third.value"
"""


@dataclass
class Console:
    """A running ``symphony ui``: where it listens, its one-time login link, its project and environment."""

    process: subprocess.Popen[bytes]
    base_url: str
    login_link: str
    project: Path
    home: Symphony

    def release(self) -> None:
        """Let every run of ``gated`` past its first node."""
        (self.project / "release").touch()

    def stop(self) -> tuple[int, str]:
        """SIGTERM, wait; its exit code and what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"symphony ui ignored SIGTERM for {DEADLINE} s")
        assert self.process.stderr is not None
        return self.process.returncode, self.process.stderr.read().decode(errors="replace")


def first_line(process: subprocess.Popen[bytes]) -> str:
    """The first line ``process`` prints, read with a deadline (selectors: descriptors may be above 1023)."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    data = b""
    end = time.monotonic() + DEADLINE
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        while b"\n" not in data:
            remaining = end - time.monotonic()
            if remaining <= 0 or (process.poll() is not None and not selector.select(0)):
                process.kill()
                _out, err = process.communicate()
                pytest.fail(f"symphony ui did not announce itself (exit {process.returncode}):\n{data!r}\n{err!r}")
            if selector.select(min(remaining, 0.5)):
                chunk = os.read(descriptor, 4096)
                data += chunk
    return data.split(b"\n", 1)[0].decode()


def start_console(home: Symphony, project: Path, *args: str, options: Sequence[str] = ()) -> Console:
    """``symphony OPTIONS ui --no-open --project PROJECT ARGS`` in ``home``, once it says where it listens."""
    home.home.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(SYMPHONY), *options, "ui", "--no-open", "--project", str(project), *args],
        cwd=home.home,
        env=home.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    line = first_line(process)
    if not line.startswith(PREFIX):
        process.kill()
        pytest.fail(f"symphony ui printed {line!r} first, not its login link")
    link = line.removeprefix(PREFIX)
    return Console(process, link.partition("/?login=")[0], link, project, home)


def make_project(directory: Path) -> Path:
    """A project with the welcome example and the gated chain (released by a file in the project)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / "welcome.toml", directory / "welcome.toml")
    (directory / "gated.toml").write_text(GATED.format(release=directory / "release"))
    return directory


@pytest.fixture
def console(tmp_path: Path, ops_site: Path) -> Iterator[Console]:
    """A running console on a fresh project and data directory; stopped after the test."""
    home = Symphony(sites=(ops_site,), home=tmp_path / "home")
    running = start_console(home, make_project(tmp_path / "project"))
    try:
        yield running
    finally:
        killed(running.process)
