"""OS-level confinement a worker applies to itself before importing untrusted code.

Mechanisms (each a module with one job): ``rlimits`` (memory, CPU, files),
``namespaces`` (a private user + network namespace: no network at all),
``landlock`` (filesystem: only granted paths) and ``seccomp`` (no process
creation, no foreign sockets, no kernel escape hatches).  :func:`confine`
applies what a :class:`ConfinementPolicy` asks for and reports what it did.
"""

from ._apply import ConfinementRefusedError, confine
from ._libc import ConfinementError, UnavailableError
from ._policy import MECHANISMS, ConfinementPolicy, ConfinementReport, PolicyError

__all__ = [
    "MECHANISMS",
    "ConfinementError",
    "ConfinementPolicy",
    "ConfinementRefusedError",
    "ConfinementReport",
    "PolicyError",
    "UnavailableError",
    "confine",
]
