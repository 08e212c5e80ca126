"""Which kernel confinement mechanisms this machine offers the subprocess sandbox."""

from __future__ import annotations

import os
import platform
import resource

import msgspec

__all__ = ["Confinement", "probe"]

_LANDLOCK_CREATE_RULESET = {"x86_64": 444, "aarch64": 444}
_LANDLOCK_CREATE_RULESET_VERSION = 1


class Confinement(msgspec.Struct, frozen=True, kw_only=True):
    landlock_abi: int
    user_namespaces: bool
    seccomp: bool
    rlimits: bool

    @property
    def missing(self) -> list[str]:
        return [name for name, ok in self.available().items() if not ok]

    def available(self) -> dict[str, bool]:
        return {
            "landlock": self.landlock_abi > 0,
            "user_namespaces": self.user_namespaces,
            "seccomp": self.seccomp,
            "rlimits": self.rlimits,
        }


def _landlock_abi() -> int:
    number = _LANDLOCK_CREATE_RULESET.get(platform.machine())
    if number is None or platform.system() != "Linux":
        return 0
    import ctypes  # ~2 ms, only where Landlock may exist

    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(number, None, ctypes.c_size_t(0), ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(abi), 0)


def _user_namespaces() -> bool:
    try:
        with open("/proc/sys/user/max_user_namespaces") as handle:
            return int(handle.read().strip()) > 0
    except (OSError, ValueError):
        return False


def _seccomp() -> bool:
    try:
        with open("/proc/self/status") as handle:
            return any(line.startswith("Seccomp:") for line in handle)
    except OSError:
        return False


def probe() -> Confinement:
    """Ask the kernel, without changing anything in this process."""
    return Confinement(
        landlock_abi=_landlock_abi() if os.name == "posix" else 0,
        user_namespaces=_user_namespaces(),
        seccomp=_seccomp(),
        rlimits=hasattr(resource, "setrlimit"),
    )
