"""The subprocess runtime's escape matrix: one real attempt per way out, in a real confined worker.

Each row of the matrix in docs/sandbox-subprocess.md names the test here (or
in test_hostile.py / test_unix_sockets.py) that proves its mechanism.  The
victims are real: a sleeping process of the host's user, the host's own
descriptors, System V objects and POSIX queues the host created.
"""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from symphony.sandbox.confine import ConfinementPolicy
from symphony.sandbox.subprocess import SubprocessWorker

MakeWorker = Callable[..., SubprocessWorker]
ESCAPES = "symphony_test_escapes:handle"
_libc = ctypes.CDLL(None, use_errno=True)
_IPC_CREAT, _IPC_RMID = 0o1000, 0


@pytest.fixture
def granted(tmp_path: Path) -> Path:
    scope = tmp_path / "granted"
    scope.mkdir()
    return scope


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    key = tmp_path / "secret" / "id_rsa"
    key.parent.mkdir()
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    return key


@pytest.fixture
async def escapes(make_worker: MakeWorker, granted: Path) -> SubprocessWorker:
    policy = ConfinementPolicy(
        write_paths=(str(granted),), memory_bytes=256 * 1024 * 1024, max_file_bytes=1024 * 1024, wall_clock_seconds=20
    )
    worker = make_worker(ESCAPES, name="escapes", policy=policy)
    await worker.start()
    return worker


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """Another process of the host's user, as the host itself is."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def _denied(outcome: dict[str, Any], *codes: int) -> None:
    assert outcome["outcome"] == "denied", outcome
    assert outcome["errno"] in (codes or (errno.EPERM, errno.EACCES)), outcome


async def test_the_pid_the_host_records_is_the_workers_own_whatever_the_extension_claims(
    make_worker: MakeWorker,
) -> None:
    worker = make_worker("symphony_test_liar:handle", name="liar")
    info = await worker.start()
    assert info.pid == worker.stats().pid != 1


async def test_the_confinement_the_host_records_is_what_the_worker_said_before_extension_code_ran(
    make_worker: MakeWorker,
) -> None:
    policy = ConfinementPolicy(weaker_allowed=True, assume_unavailable=frozenset({"namespaces"}))
    info = await make_worker("symphony_test_liar:handle", name="liar", policy=policy).start()
    assert "namespaces" not in info.confinement.applied
    assert "namespaces" in info.confinement.skipped


# -- files: links and special file systems ----------------------------------------------------


async def test_a_symlink_in_a_granted_directory_does_not_open_what_it_points_to(
    escapes: SubprocessWorker, granted: Path, secret: Path
) -> None:
    outcome = await escapes.invoke("read_through_symlink", {"link": str(granted / "link"), "target": str(secret)})
    _denied(outcome)


async def test_a_hard_link_to_a_file_outside_cannot_be_made_in_a_granted_directory(
    escapes: SubprocessWorker, granted: Path, secret: Path
) -> None:
    _denied(await escapes.invoke("hard_link", {"source": str(secret), "link": str(granted / "copy")}), errno.EXDEV)
    assert not (granted / "copy").exists()


@pytest.mark.parametrize("how", ["create", "chmod", "setgid_dir"])
async def test_a_setuid_or_setgid_file_cannot_be_left_in_a_granted_directory(
    escapes: SubprocessWorker, granted: Path, how: str
) -> None:
    target = granted / "payload"
    _denied(await escapes.invoke("setuid_file", {"path": str(target), "how": how}), errno.EPERM)
    assert not target.exists() or not target.stat().st_mode & 0o6000


@pytest.fixture(params=[True, False], ids=["user-namespace", "real-root-in-permissive-mode"])
async def as_root(request: pytest.FixtureRequest, make_worker: MakeWorker, granted: Path) -> SubprocessWorker:
    """A worker of this (root, in CI) host, in its user namespace or, where there is none, as real root."""
    assert os.geteuid() == 0, "these tests prove what a root host's worker cannot do; run them as root (CI does)"
    unavailable = frozenset() if request.param else frozenset({"namespaces"})
    policy = ConfinementPolicy(write_paths=(str(granted),), weaker_allowed=True, assume_unavailable=unavailable)
    worker = make_worker(ESCAPES, name="escapes", policy=policy)
    await worker.start()
    return worker


async def test_a_device_node_for_the_hosts_disk_cannot_be_made_in_a_granted_directory(
    as_root: SubprocessWorker, granted: Path
) -> None:
    outcome = await as_root.invoke("device_node", {"path": str(granted / "disk"), "device": _root_disk().st_rdev})
    _denied(outcome, errno.EPERM)
    assert not (granted / "disk").exists()


async def test_the_hosts_name_cannot_be_changed(as_root: SubprocessWorker) -> None:
    _denied(await as_root.invoke("kernel_call", {"name": "sethostname", "pid": 0}), errno.EPERM)


def _root_disk() -> os.stat_result:
    """The block device the root file system lives on (a device number a worker could name)."""
    device = os.stat("/").st_dev
    for entry in Path("/sys/dev/block").iterdir():
        if entry.name == f"{os.major(device)}:{os.minor(device)}":
            return os.stat(Path("/dev") / (entry / "uevent").read_text().split("DEVNAME=")[1].split()[0])
    pytest.fail(f"no block device {os.major(device)}:{os.minor(device)} in /sys/dev/block")


async def test_stopping_a_worker_does_not_follow_a_symlink_it_left_in_its_directory(
    escapes: SubprocessWorker, tmp_path: Path
) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious.txt").write_text("the host's")
    assert escapes.workdir is not None
    await escapes.invoke("read_through_symlink", {"link": str(escapes.workdir / "trap"), "target": str(keep)})
    assert (escapes.workdir / "trap").is_symlink()
    await escapes.stop()
    assert (keep / "precious.txt").read_text() == "the host's"


@pytest.mark.parametrize(
    "path",
    [
        "/proc/{host}/root/etc/hostname",
        "/proc/{host}/cwd",
        "/proc/{host}/fd/0",
        "/proc/{host}/mem",
        "/proc/self/mem",
        "/proc/1/environ",
        "/proc/sys/kernel/core_pattern",
        "/sys/kernel/notes",
    ],
)
async def test_proc_and_sys_are_closed(escapes: SubprocessWorker, path: str) -> None:
    _denied(await escapes.invoke("read", {"path": path.format(host=os.getpid())}))


@pytest.mark.parametrize("path", ["/dev/tty", "/dev/kmsg", "/dev/ptmx", "/dev/full", "/dev/shm/{name}"])
async def test_devices_other_than_null_and_urandom_are_closed(escapes: SubprocessWorker, path: str) -> None:
    name = f"symphony-test-{os.getpid()}"
    shared = Path("/dev/shm") / name
    shared.write_text("the host's shared memory")
    try:
        _denied(await escapes.invoke("read", {"path": path.format(name=name)}))
    finally:
        shared.unlink()


async def test_dev_urandom_stays_readable(escapes: SubprocessWorker) -> None:
    assert (await escapes.invoke("read", {"path": "/dev/urandom"}))["outcome"] == "allowed"


# -- descriptors and limits ------------------------------------------------------------------


async def test_a_descriptor_the_host_holds_open_is_not_inherited_by_the_worker(
    make_worker: MakeWorker, secret: Path
) -> None:
    with open(secret, "rb") as held:
        os.set_inheritable(held.fileno(), True)  # even one the host forgot to mark close-on-exec
        worker = make_worker(ESCAPES, name="escapes")
        await worker.start()
        outcome = await worker.invoke("descriptors", {})
    assert outcome["outcome"] == "allowed"
    identity = [os.stat(secret).st_dev, os.stat(secret).st_ino]
    assert identity not in [held_fd[1:] for held_fd in outcome["value"]], outcome


@pytest.mark.parametrize("limit", ["RLIMIT_AS", "RLIMIT_NOFILE", "RLIMIT_CPU", "RLIMIT_FSIZE"])
async def test_the_worker_cannot_raise_its_own_limits(escapes: SubprocessWorker, limit: str) -> None:
    _denied(await escapes.invoke("raise_limit", {"limit": limit}), errno.EPERM)


# -- the kernel's other doors -----------------------------------------------------------------


async def test_executing_a_memfd_is_denied(escapes: SubprocessWorker) -> None:
    _denied(await escapes.invoke("memfd_exec", {}))


@pytest.mark.parametrize(
    "name", ["ptrace", "process_vm_readv", "keyctl", "perf_event_open", "userfaultfd", "io_uring_setup", "bpf"]
)
async def test_kernel_escape_hatches_are_denied(escapes: SubprocessWorker, name: str) -> None:
    _denied(await escapes.invoke("kernel_call", {"name": name, "pid": os.getpid()}), errno.EPERM)


@pytest.mark.parametrize("how", ["kill", "process_group", "everyone", "tgkill", "pidfd_send_signal"])
async def test_signalling_the_host_is_denied_by_every_route(escapes: SubprocessWorker, how: str) -> None:
    _denied(await escapes.invoke("signal", {"how": how, "pid": os.getpid()}), errno.EPERM)


@pytest.mark.parametrize("how", ["process_group", "everyone"])
async def test_a_worker_allowed_processes_still_cannot_signal_the_hosts_group_or_everyone(
    make_worker: MakeWorker, how: str
) -> None:
    """Without Landlock's signal scope (ABI < 6), seccomp is the wall: kill(0) and kill(-1) take in the host."""
    policy = ConfinementPolicy(allow_processes=True, weaker_allowed=True, assume_unavailable=frozenset({"landlock"}))
    worker = make_worker(ESCAPES, name="escapes", policy=policy)
    await worker.start()
    _denied(await worker.invoke("signal", {"how": how, "pid": os.getpid()}), errno.EPERM)


@pytest.mark.parametrize("how", ["fcntl", "ioctl"])
@pytest.mark.parametrize("mechanism", ["seccomp", "landlock"])
async def test_the_kernel_cannot_be_made_to_signal_another_process_by_sigio(
    make_worker: MakeWorker, victim: subprocess.Popen[bytes], how: str, mechanism: str
) -> None:
    """F_SETOWN / FIOSETOWN + O_ASYNC: SIGIO, whose default action kills, sent by the kernel on our behalf."""
    other = "landlock" if mechanism == "seccomp" else "seccomp"
    policy = ConfinementPolicy(weaker_allowed=True, assume_unavailable=frozenset({other}))
    worker = make_worker(ESCAPES, name="escapes", policy=policy)
    assert mechanism in (await worker.start()).confinement.applied
    outcome = await worker.invoke("sigio", {"how": how, "pid": victim.pid})
    assert _asleep_and_unsignalled(victim.pid), outcome  # the kernel sends SIGIO before the write returns


def _asleep_and_unsignalled(pid: int) -> bool:
    """Still sleeping, nothing pending: a process that got SIGIO is dying, dead or has it pending."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    pending = int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)
    return fields["State"].split()[0] == "S" and pending == 0


@pytest.mark.parametrize("how", ["setpriority", "sched_setaffinity", "sched_setscheduler", "ioprio_set"])
async def test_slowing_down_another_process_of_the_same_user_is_denied(
    escapes: SubprocessWorker, victim: subprocess.Popen[bytes], how: str
) -> None:
    before = (os.getpriority(os.PRIO_PROCESS, victim.pid), os.sched_getaffinity(victim.pid))
    before_policy = os.sched_getscheduler(victim.pid)
    _denied(await escapes.invoke("deprioritise", {"how": how, "pid": victim.pid}), errno.EPERM)
    assert (os.getpriority(os.PRIO_PROCESS, victim.pid), os.sched_getaffinity(victim.pid)) == before
    assert os.sched_getscheduler(victim.pid) == before_policy


# -- IPC objects of the host ------------------------------------------------------------------


@pytest.fixture
def sysv_key() -> Iterator[int]:
    """A System V key under which the host created a segment, a queue and a semaphore set."""
    key = 0x5E000000 + os.getpid() % 0xFFFF
    made = [
        (_libc.shmget(key, 4096, _IPC_CREAT | 0o600), _libc.shmctl),
        (_libc.msgget(key, _IPC_CREAT | 0o600), _libc.msgctl),
        (_libc.semget(key, 1, _IPC_CREAT | 0o600), _libc.semctl),
    ]
    assert all(ident >= 0 for ident, _ in made), made
    yield key
    for ident, control in made:
        control(ident, _IPC_RMID, None)


@pytest.mark.parametrize("kind", ["shm", "msg", "sem"])
async def test_the_hosts_system_v_ipc_objects_are_out_of_reach(
    escapes: SubprocessWorker, sysv_key: int, kind: str
) -> None:
    _denied(await escapes.invoke("sysv", {"kind": kind, "key": sysv_key}), errno.ENOENT)


async def test_the_hosts_posix_message_queues_are_out_of_reach(escapes: SubprocessWorker) -> None:
    name = f"/symphony-test-{os.getpid()}".encode()
    _libc.mq_open.restype = ctypes.c_int
    queue = _libc.mq_open(name, os.O_CREAT | os.O_RDWR, 0o600, None)
    assert queue >= 0, os.strerror(ctypes.get_errno())
    try:
        _denied(await escapes.invoke("mq_open", {"name": name.decode()}), errno.ENOENT, errno.EACCES)
    finally:
        os.close(queue)
        _libc.mq_unlink(name)


# -- resource exhaustion ----------------------------------------------------------------------


async def test_opening_descriptors_without_end_stops_at_the_limit(escapes: SubprocessWorker) -> None:
    _denied(await escapes.invoke("exhaust_descriptors", {}), errno.EMFILE)
    assert (await escapes.invoke("socketpair_round_trip", {}))["outcome"] == "allowed"


@pytest.mark.slow
async def test_starting_threads_without_end_stops_at_the_memory_limit(escapes: SubprocessWorker) -> None:
    _denied(await escapes.invoke("exhaust_threads", {}), errno.EAGAIN)
    assert (await escapes.invoke("socketpair_round_trip", {}))["outcome"] == "allowed"


async def test_a_file_larger_than_the_limit_cannot_be_written(escapes: SubprocessWorker, granted: Path) -> None:
    target = granted / "big.bin"
    _denied(await escapes.invoke("write_bytes", {"path": str(target), "size": 2 * 1024 * 1024}), errno.EFBIG)
    assert target.stat().st_size <= 1024 * 1024
