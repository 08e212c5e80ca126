"""Entry point of a worker started afresh: ``python -I -S bootstrap.py PARENT_PID ROOT...``.

Run by file path with ``-I -S`` (no site, no environment, no user paths) so
that interpreter start-up does the least work and nothing from the host's
environment steers it; the ROOT arguments (where the worker's runtime is
imported from) go on ``sys.path`` before anything of ours is imported.  The
zygote (``zygote.py``) runs the same worker in a fork instead; the real work
is in :mod:`._child`.
"""

import sys


def _run() -> int:
    sys.dont_write_bytecode = True  # the import paths are read-only to the worker anyway
    sys.path[:0] = sys.argv[2:]
    from symphony.sandbox.subprocess._child import run

    return run(int(sys.argv[1]))


if __name__ == "__main__":
    sys.exit(_run())
