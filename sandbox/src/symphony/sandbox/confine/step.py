"""One step of building an extension's environment, run confined: ``python -m symphony.sandbox.confine.step SPEC``.

The host (``symphony.host.extensions._confined``) builds the command line and
its :class:`~symphony.hookspecs.runtimes.ConfinedStep`; this process confines
itself with the sandbox's mechanisms and only then becomes the step's command.
"""

from __future__ import annotations

import os
import sys
from typing import Final, NoReturn

import msgspec

from symphony.hookspecs.runtimes import ConfinedStep

from ._apply import ConfinementRefusedError, confine
from ._policy import ConfinementPolicy

__all__ = ["CONFINEMENT_REFUSED", "main"]

#: The exit status of a step whose confinement could not be applied (nothing ran).
CONFINEMENT_REFUSED: Final = 125


def main(raw_spec: str) -> NoReturn:
    """Confine this process as ``raw_spec`` says, then become its command (exit status 125 if it cannot)."""
    spec = msgspec.json.decode(raw_spec, type=ConfinedStep)
    policy = ConfinementPolicy(
        allow_network=True,
        allow_processes=True,
        memory_bytes=None,
        cpu_seconds=None,
        wall_clock_seconds=None,
        max_open_files=4096,
        max_file_bytes=None,
        weaker_allowed=spec.weaker_allowed,
    )
    try:
        report = confine(policy, read_paths=spec.read_paths, write_paths=spec.write_paths)
    except (ConfinementRefusedError, OSError) as error:
        print(f"symphony: the environment build was not started: {error}", file=sys.stderr, flush=True)
        sys.exit(CONFINEMENT_REFUSED)
    for name, reason in report.skipped.items():
        print(f"symphony: building without {name} ({reason})", file=sys.stderr, flush=True)
    os.execv(spec.command[0], spec.command)


if __name__ == "__main__":
    main(sys.argv[1])
