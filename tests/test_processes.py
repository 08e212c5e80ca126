"""The SDK's child-process helpers: children that die with their parent, and exits in words."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from symphony.hookspecs import describe_exit, dying_with_parent
from tests.lifetime import alive, wait_until_dead

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux only")


@contextmanager
def _parent(child_code: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A parent process that starts a child running ``child_code`` and prints the child's pid."""
    code = textwrap.dedent(
        f"""
        import subprocess, sys, time
        child = subprocess.Popen({child_code})
        print(child.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    try:
        yield parent, child_pid
    finally:
        parent.kill()
        parent.wait()
        if alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def test_a_child_that_called_die_with_parent_dies_when_its_parent_is_sigkilled() -> None:
    child = (
        "[sys.executable, '-c', 'import os, time; from symphony.hookspecs import die_with_parent;"
        " die_with_parent(os.getppid()); print(flush=True); time.sleep(600)']"
    )
    with _parent(child) as (parent, child_pid):
        time.sleep(0.2)  # give the child time to arm the signal; dying earlier is also fine for the assertion
        parent.kill()
        assert wait_until_dead(child_pid, 30.0), "the child outlived its SIGKILLed parent"


def test_a_command_started_through_dying_with_parent_dies_when_its_parent_is_sigkilled() -> None:
    argv = dying_with_parent(["sleep", "600"])
    with _parent(repr(argv)) as (parent, child_pid):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the launcher execs sleep: same pid, new command
            with open(f"/proc/{child_pid}/cmdline", "rb") as cmdline:
                if cmdline.read().startswith(b"sleep"):
                    break
            time.sleep(0.05)
        parent.kill()
        assert wait_until_dead(child_pid, 30.0), "sleep outlived its SIGKILLed parent"


def test_die_with_parent_exits_at_once_when_the_named_parent_is_already_gone() -> None:
    code = "from symphony.hookspecs import die_with_parent; die_with_parent(1); print('still here')"
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "still here" not in result.stdout


def test_the_launcher_runs_the_command_with_its_arguments() -> None:
    result = subprocess.run(
        dying_with_parent(["echo", "a b", "c"]), check=False, capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "a b c\n"


@pytest.mark.parametrize(
    ("returncode", "words"),
    [
        (-9, "was killed by SIGKILL"),
        (-15, "was killed by SIGTERM"),
        (3, "exited with status 3"),
        (0, "exited with status 0"),
        (None, "ended"),
    ],
)
def test_describe_exit_says_how_a_child_ended(returncode: int | None, words: str) -> None:
    assert describe_exit(returncode) == words


def test_describe_exit_names_an_unknown_signal_by_number() -> None:
    assert describe_exit(-200) == "was killed by signal 200"
