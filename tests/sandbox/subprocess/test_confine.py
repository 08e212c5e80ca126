"""The confinement mechanisms on their own: the policy's checks and the seccomp program."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.sandbox.confine import ConfinementPolicy, PolicyError
from symphony.sandbox.confine.seccomp import Instruction, build_filter, syscall_numbers

_RET_ALLOW = 0x7FFF0000
_EPERM = 0x00050000 | 1


def _run(
    program: list[Instruction],
    nr: int,
    *,
    arch: int = 0xC000003E,
    arg0: int = 0,
    arg1: int = 0,
    arg2: int = 0,
    arg3: int = 0,
) -> int:
    """Interpret the classic-BPF subset build_filter emits, for one syscall."""
    data = {0: nr, 4: arch, 16: arg0, 24: arg1, 32: arg2, 40: arg3}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20:
            acc = data[k]
        elif code == 0x54:
            acc &= k
        elif code == 0x06:
            return int(k)
        else:
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        pc += 1


@pytest.fixture
def program() -> list[Instruction]:
    return build_filter(pid=4242, allow_processes=False, allow_network=False, arch="x86_64")


def test_seccomp_denies_ptrace_and_unshare(program: list[Instruction]) -> None:
    numbers = syscall_numbers("x86_64")
    assert _run(program, numbers["ptrace"]) == _EPERM
    assert _run(program, numbers["unshare"]) == _EPERM


def test_seccomp_allows_threads_but_not_processes(program: list[Instruction]) -> None:
    clone = syscall_numbers("x86_64")["clone"]
    assert _run(program, clone, arg0=0x3D0F00) == _RET_ALLOW  # glibc's pthread_create flags
    assert _run(program, clone, arg0=0x11) == _EPERM  # fork(): SIGCHLD only


def test_seccomp_answers_clone3_with_enosys_so_glibc_falls_back_to_clone(program: list[Instruction]) -> None:
    assert _run(program, 435) == 0x00050000 | 38


def test_seccomp_denies_every_socket_without_the_network(program: list[Instruction]) -> None:
    socket = syscall_numbers("x86_64")["socket"]
    for family in (1, 2, 10, 16):  # AF_UNIX AF_INET AF_INET6 AF_NETLINK
        assert _run(program, socket, arg0=family) == _EPERM


def test_seccomp_with_the_network_allowed_still_denies_unix_sockets() -> None:
    program = build_filter(pid=4242, allow_processes=False, allow_network=True, arch="x86_64")
    socket = syscall_numbers("x86_64")["socket"]
    assert _run(program, socket, arg0=1) == _EPERM
    assert _run(program, socket, arg0=2) == _RET_ALLOW


@pytest.mark.parametrize("allow_network", [False, True])
def test_seccomp_allows_only_a_unix_stream_socketpair(allow_network: bool) -> None:
    program = build_filter(pid=4242, allow_processes=False, allow_network=allow_network, arch="x86_64")
    socketpair = syscall_numbers("x86_64")["socketpair"]
    assert _run(program, socketpair, arg0=1, arg1=1) == _RET_ALLOW  # AF_UNIX, SOCK_STREAM
    assert _run(program, socketpair, arg0=1, arg1=1 | 0x80000 | 0x800) == _RET_ALLOW  # | CLOEXEC | NONBLOCK
    assert _run(program, socketpair, arg0=1, arg1=2) == _EPERM  # SOCK_DGRAM: sendto reaches any address
    assert _run(program, socketpair, arg0=1, arg1=5) == _EPERM  # SOCK_SEQPACKET
    assert _run(program, socketpair, arg0=2, arg1=1) == _EPERM


@pytest.mark.parametrize("allow_processes", [False, True])
@pytest.mark.parametrize("namespace", [0x80, 0x20000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x40000000])
def test_seccomp_denies_a_clone_that_makes_a_namespace(allow_processes: bool, namespace: int) -> None:
    program = build_filter(pid=4242, allow_processes=allow_processes, allow_network=False, arch="x86_64")
    assert _run(program, syscall_numbers("x86_64")["clone"], arg0=0x3D0F00 | namespace) == _EPERM


@pytest.mark.parametrize("name", ["sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr"])
def test_seccomp_allows_scheduling_changes_only_to_the_worker_itself(program: list[Instruction], name: str) -> None:
    number = syscall_numbers("x86_64")[name]
    assert _run(program, number, arg0=0) == _RET_ALLOW
    assert _run(program, number, arg0=4242) == _RET_ALLOW
    assert _run(program, number, arg0=1) == _EPERM


def test_seccomp_allows_renicing_only_the_worker_itself(program: list[Instruction]) -> None:
    setpriority = syscall_numbers("x86_64")["setpriority"]
    assert _run(program, setpriority, arg0=0, arg1=0) == _RET_ALLOW  # os.nice()
    assert _run(program, setpriority, arg0=0, arg1=4242) == _RET_ALLOW
    assert _run(program, setpriority, arg0=0, arg1=1) == _EPERM
    assert _run(program, setpriority, arg0=1, arg1=0) == _EPERM  # PRIO_PGRP: the host is in the group
    assert _run(program, setpriority, arg0=2, arg1=0) == _EPERM  # PRIO_USER: every process of the uid


def test_seccomp_lets_only_the_worker_own_a_descriptor_for_sigio(program: list[Instruction]) -> None:
    fcntl, ioctl = syscall_numbers("x86_64")["fcntl"], syscall_numbers("x86_64")["ioctl"]
    assert _run(program, fcntl, arg1=8, arg2=4242) == _RET_ALLOW  # F_SETOWN, the worker
    assert _run(program, fcntl, arg1=8, arg2=1) == _EPERM
    assert _run(program, fcntl, arg1=8, arg2=0xFFFFFFFF - 99) == _EPERM  # -100: a process group
    assert _run(program, fcntl, arg1=15) == _EPERM  # F_SETOWN_EX
    assert _run(program, fcntl, arg1=4, arg2=0x800) == _RET_ALLOW  # F_SETFL O_NONBLOCK
    assert _run(program, ioctl, arg1=0x8901) == _EPERM  # FIOSETOWN
    assert _run(program, ioctl, arg1=0x8902) == _EPERM  # SIOCSPGRP
    assert _run(program, ioctl, arg1=0x5401) == _RET_ALLOW  # TCGETS


@pytest.mark.parametrize(
    ("name", "arg"), [("chmod", "arg1"), ("fchmod", "arg1"), ("openat", "arg3"), ("mkdirat", "arg2")]
)
def test_seccomp_refuses_setuid_and_setgid_modes(program: list[Instruction], name: str, arg: str) -> None:
    number = syscall_numbers("x86_64")[name]
    assert _run(program, number, **{arg: 0o755}) == _RET_ALLOW
    assert _run(program, number, **{arg: 0o4755}) == _EPERM
    assert _run(program, number, **{arg: 0o2755}) == _EPERM


def test_seccomp_answers_openat2_with_enosys_so_its_mode_cannot_hide(program: list[Instruction]) -> None:
    assert _run(program, 437) == 0x00050000 | 38


def test_seccomp_allows_io_priority_changes_only_to_the_worker_itself(program: list[Instruction]) -> None:
    ioprio_set = syscall_numbers("x86_64")["ioprio_set"]
    assert _run(program, ioprio_set, arg0=1, arg1=0) == _RET_ALLOW
    assert _run(program, ioprio_set, arg0=1, arg1=77) == _EPERM
    assert _run(program, ioprio_set, arg0=3, arg1=0) == _EPERM  # IOPRIO_WHO_USER


def test_seccomp_allows_signals_only_to_the_worker_itself(program: list[Instruction]) -> None:
    kill = syscall_numbers("x86_64")["kill"]
    assert _run(program, kill, arg0=4242) == _RET_ALLOW
    assert _run(program, kill, arg0=1) == _EPERM
    assert _run(program, kill, arg0=0) == _EPERM  # the process group: the host is in it
    assert _run(program, kill, arg0=0xFFFFFFFF) == _EPERM  # -1: everyone


def test_seccomp_with_processes_allowed_still_refuses_signals_to_groups_and_everyone() -> None:
    program = build_filter(pid=4242, allow_processes=True, allow_network=False, arch="x86_64")
    kill = syscall_numbers("x86_64")["kill"]
    assert _run(program, kill, arg0=5000) == _RET_ALLOW  # a child
    assert _run(program, kill, arg0=0) == _EPERM  # its process group: the host is in it
    assert _run(program, kill, arg0=0xFFFFFFFF) == _EPERM  # -1: every process it may signal
    assert _run(program, kill, arg0=0xFFFFFFFF - 99) == _EPERM  # -100: process group 100


def test_seccomp_kills_a_syscall_made_through_a_foreign_architecture(program: list[Instruction]) -> None:
    assert _run(program, 0, arch=0x40000003) == 0x80000000  # i386


def test_seccomp_denies_the_x32_syscall_range(program: list[Instruction]) -> None:
    assert _run(program, 0x40000000 + 59) == _EPERM


def test_seccomp_leaves_ordinary_syscalls_alone(program: list[Instruction]) -> None:
    for nr in (0, 1, 2, 3, 9, 257):  # read write open close mmap openat
        assert _run(program, nr) == _RET_ALLOW


def test_seccomp_with_processes_allowed_lets_fork_through() -> None:
    program = build_filter(pid=1, allow_processes=True, allow_network=False, arch="x86_64")
    assert _run(program, syscall_numbers("x86_64")["fork"]) == _RET_ALLOW


def test_seccomp_has_a_table_for_aarch64() -> None:
    program = build_filter(pid=7, allow_processes=False, allow_network=False, arch="aarch64")
    assert _run(program, 117, arch=0xC00000B7) == _EPERM  # ptrace on aarch64


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"memory_bytes": 1024}, "memory_bytes: expected at least 64 MiB"),
        ({"cpu_seconds": 0}, "cpu_seconds: expected a whole number >= 1"),
        ({"read_paths": ("relative/dir",)}, "read_paths: expected absolute paths"),
        ({"assume_unavailable": frozenset({"apparmor"})}, "unknown mechanism"),
        ({"max_open_files": 3}, "max_open_files: expected at least 16"),
    ],
)
def test_a_bad_policy_names_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        ConfinementPolicy(**fields)


def test_the_network_namespace_is_not_needed_when_network_is_allowed() -> None:
    assert "namespaces" not in ConfinementPolicy(allow_network=True).needed()
