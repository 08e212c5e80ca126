"""The confinement mechanisms on their own: the policy's checks and the seccomp program."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.sandbox.confine import ConfinementPolicy, PolicyError
from symphony.sandbox.confine.seccomp import Instruction, build_filter, syscall_numbers

_RET_ALLOW = 0x7FFF0000
_EPERM = 0x00050000 | 1


def _run(program: list[Instruction], nr: int, arch: int = 0xC000003E, arg0: int = 0) -> int:
    """Interpret the classic-BPF subset build_filter emits, for one syscall."""
    data = {0: nr, 4: arch, 16: arg0}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = program[pc]
        if code == 0x20:
            acc = data[k]
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


def test_seccomp_allows_only_unix_sockets(program: list[Instruction]) -> None:
    socket = syscall_numbers("x86_64")["socket"]
    assert _run(program, socket, arg0=1) == _RET_ALLOW
    assert _run(program, socket, arg0=2) == _EPERM
    assert _run(program, socket, arg0=10) == _EPERM


def test_seccomp_allows_signals_only_to_the_worker_itself(program: list[Instruction]) -> None:
    kill = syscall_numbers("x86_64")["kill"]
    assert _run(program, kill, arg0=4242) == _RET_ALLOW
    assert _run(program, kill, arg0=1) == _EPERM
    assert _run(program, kill, arg0=0) == _EPERM  # the process group: the host is in it
    assert _run(program, kill, arg0=0xFFFFFFFF) == _EPERM  # -1: everyone


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
