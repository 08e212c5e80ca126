"""Entry point of a confined worker: ``python -I -S bootstrap.py SPEC_JSON PATH...``.

Run by file path with ``-I -S`` (no site, no environment, no user paths) so
that interpreter start-up does the least work and nothing from the host's
environment steers it; the PATH arguments become ``sys.path`` before anything
of ours is imported.  The real work is in :mod:`._child`.
"""

import sys


def _run() -> int:
    sys.dont_write_bytecode = True  # the import paths are read-only to the worker anyway
    sys.path[:0] = sys.argv[2:]
    from symphony.sandbox.subprocess._child import main

    return main(sys.argv[1])


if __name__ == "__main__":
    sys.exit(_run())
