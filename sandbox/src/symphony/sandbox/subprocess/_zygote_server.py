"""The zygote: one interpreter that imported the worker's runtime once and forks a worker per request.

Importing asyncio, msgspec and the SDK is most of a fresh worker's start
(~70 ms of ~80 here); a fork of this process has them already and goes
straight to confining itself (:func:`._child.run`, the same code a fresh
worker runs, in the same order).

What the zygote holds, and why no worker keeps any of it:

- the host's uid, and when the host runs as root its capabilities; its
  rlimits, cgroup and nice value from when it started: each worker drops or
  lowers them in ``confine`` exactly as a freshly started one does (the fork
  stands where the ``exec`` was), and takes the host's current umask from its
  start frame;
- the control socket to the host (a request on it forks an unconfined
  process) and a pidfd per worker: a fork closes every descriptor but its
  own two pipes before it runs anything else;
- a scrubbed environment (PATH and the locale) and ``/`` as working
  directory: the worker replaces both from its start frame;
- no thread and nothing secret: an extension's configuration reaches its
  worker over that worker's own pipe, after the fork.  All workers share the
  zygote's ``str`` hash seed (not a secret; ``random`` is reseeded per fork).

It arms the parent-death signal first thing, so it dies with the host, and
each worker arms it against the zygote, so they die with it.  It is single-
threaded: ``unshare(CLONE_NEWUSER)`` in a fork needs that.

Control messages (JSON on a SOCK_SEQPACKET socket): ``{"fork": id}`` with the
worker's stdin and stdout as SCM_RIGHTS; answers ``{"ready": pid}`` once,
``{"forked": id, "pid": pid}`` with a pidfd of the worker, ``{"failed": id,
"error": why}``, and ``{"exited": pid, "returncode": code}`` when a worker
ends (reaped here, as its parent).
"""

from __future__ import annotations

import atexit
import concurrent.futures.thread  # noqa: F401  (a worker's guest calls run on its executor: import it once here)
import contextlib
import os
import select
import socket
import sys
import traceback
from typing import Any, Final, NoReturn

import msgspec

from symphony.hookspecs import die_with_parent

from . import _child

__all__ = ["serve"]

#: Every descriptor number a fork could have inherited (close_range: one system call).
_ALL_FDS: Final = 2**31 - 1
_MAX_MESSAGE: Final = 4096


def _send(control: socket.socket, message: dict[str, Any], fds: tuple[int, ...] = ()) -> None:
    socket.send_fds(control, [msgspec.json.encode(message)], list(fds))


def _become_worker(stdin: int, stdout: int, zygote: int) -> NoReturn:
    """In the fork: keep only the worker's pipes (as fds 0 and 1), then run the worker; never returns."""
    code = 1
    try:
        os.setsid()  # like a fresh worker: signals to the host's or the zygote's group do not reach it
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        os.closerange(3, _ALL_FDS)
        code = _child.run(zygote)
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()  # what the interpreter's own exit would run (the extension's handlers)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _fork(control: socket.socket, request: int, fds: list[int]) -> tuple[int, int] | None:
    """Fork a worker on ``fds`` (its stdin, stdout); its pid and a pidfd, or None after telling the host why not."""
    try:
        if len(fds) != 2:
            raise ValueError(f"expected the worker's stdin and stdout, got {len(fds)} descriptors")
        zygote = os.getpid()
        pid = os.fork()
        if pid == 0:
            _become_worker(fds[0], fds[1], zygote)
        pidfd = os.pidfd_open(pid)
    except (OSError, ValueError) as error:
        _send(control, {"failed": request, "error": str(error)})
        return None
    finally:
        for fd in fds:
            os.close(fd)
    _send(control, {"forked": request, "pid": pid}, (pidfd,))
    return pid, pidfd


def serve(host: int, control_fd: int) -> int:
    """Fork workers for the host until it closes the control socket; returns the exit status."""
    die_with_parent(host)
    os.chdir("/")
    control = socket.socket(fileno=control_fd)
    _send(control, {"ready": os.getpid()})
    poller = select.poll()
    poller.register(control, select.POLLIN)
    workers: dict[int, int] = {}  # pidfd -> pid
    while True:
        for fd, _ in poller.poll():
            if fd != control_fd:
                pid = workers.pop(fd)
                poller.unregister(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                _send(control, {"exited": pid, "returncode": os.waitstatus_to_exitcode(status)})
                continue
            data, fds, _, _ = socket.recv_fds(control, _MAX_MESSAGE, 2, socket.MSG_CMSG_CLOEXEC)
            if not data:
                return 0  # the host is gone; the workers' parent-death signal ends them
            forked = _fork(control, int(msgspec.json.decode(data)["fork"]), fds)
            if forked is not None:
                workers[forked[1]] = forked[0]
                poller.register(forked[1], select.POLLIN)
